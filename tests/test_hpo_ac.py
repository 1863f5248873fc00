"""Algorithm configuration: the table as a ConfigSpace, common random numbers, racing
strategies, the final re-evaluation, bootstrap CIs, crashes and settings files."""
import json
from pathlib import Path

import numpy as np
import pytest
from ConfigSpace import InCondition, OrdinalHyperparameter

from ml2tuner.errors import UserError
from ml2tuner.hparams import HP, load_settings, save_settings
from ml2tuner.hpo import evaluate as ev
from ml2tuner.hpo.ac import search
from ml2tuner.hpo.configspace import canonical, searched, to_configspace, to_hparams
from ml2tuner.hpo.meta import hpo
from ml2tuner.hpo.objective import RunObjective
from ml2tuner.hpo.stats import bootstrap_improvement
from ml2tuner.tuners import TUNERS

ROOT = Path(__file__).resolve().parents[1]
C9 = str(ROOT / "traces" / "vta-zcu102" / "resnet18.C9.jsonl.gz")
C10 = str(ROOT / "traces" / "vta-zcu102" / "resnet18.C10.jsonl.gz")
C11 = str(ROOT / "traces" / "vta-zcu102" / "resnet18.C11.jsonl.gz")

TABLE = {"mode": HP("a", choices=("a", "b")),
         "k": HP(4, 1, 64, log=True, condition=("mode", ("b",))),
         "lr": HP(0.1, 1e-3, 1.0, log=True),
         "o": HP(2, choices=(1, 2, 4)),
         "frozen": HP(7, 0, 10, tunable=False)}


# ----- the table as a search space ---------------------------------------------------------------
def test_configspace_from_table_has_structure():
    t = searched(TABLE)
    assert "frozen" not in t and set(t) == {"mode", "k", "lr", "o"}
    cs = to_configspace(t, seed=1)
    assert cs["k"].log and cs["lr"].log and isinstance(cs["o"], OrdinalHyperparameter)
    conds = cs.conditions
    assert len(conds) == 1 and isinstance(conds[0], InCondition)
    assert conds[0].child.name == "k" and list(conds[0].values) == ["b"]
    assert to_hparams(cs.get_default_configuration(), t) == {k: h.default for k, h in t.items()}
    for c in cs.sample_configuration(50):
        hp = to_hparams(c, t)
        for k, h in t.items():
            assert h.check(k, hp[k]) == hp[k]
        if hp["mode"] == "a":          # inactive: no effect, so it takes its default
            assert hp["k"] == 4
        assert isinstance(hp["k"], int) and not isinstance(hp["o"], np.generic)


def test_conditional_child_of_a_fixed_parent():
    table = dict(TABLE, mode=HP("a", choices=("a", "b"), tunable=False))
    assert "k" not in searched(table)          # its fixed parent switches it off
    table = dict(TABLE, mode=HP("b", choices=("a", "b"), tunable=False))
    assert "k" in searched(table) and not to_configspace(searched(table)).conditions
    with pytest.raises(UserError, match="unknown hyperparameter"):
        searched(TABLE, ["mode", "nope"])
    with pytest.raises(ValueError, match="condition on unknown"):
        searched({"x": HP(1, 0, 2, condition=("y", (1,)))})


def test_ml2tuner_space_is_read_from_its_table():
    table = TUNERS["ml2tuner"].HYPERPARAMETERS
    t = searched(table)
    # by default the few settings marked tunable; conditional ones only where the parent is
    # searched too or its default activates them
    defaults = {n: h.default for n, h in table.items()}
    assert set(t) == {n for n, h in table.items() if h.tunable and (
        h.condition is None or h.condition[0] in t or h.active(defaults))}
    assert set(t) == {"batch_size", "n_init", "n_init_no_compiler", "v_threshold", "epsilon",
                      "a_min_valid", "local_share", "init_design"}
    assert to_configspace(t)["init_design"].choices == ("random", "maximin")
    sa = {n for n, h in table.items() if h.condition and h.condition[0] == "explorer"}
    named = searched(table, list(t) + ["explorer"] + sorted(sa))
    cs = to_configspace(named)
    assert sa and {c.child.name for c in cs.conditions} == sa
    # a new entry is picked up without naming it anywhere else
    grown = dict(table, extra_knob=HP(0.5, 0.0, 1.0))
    assert "extra_knob" in searched(grown) and "extra_knob" in to_configspace(searched(grown))


def test_default_search_leaves_out_what_acts_on_no_training_space():
    from ml2tuner.hpo.evaluate import space_kind
    from ml2tuner.tuners.ml2tuner import COMPILER_ONLY, NO_COMPILER_ONLY
    table = TUNERS["ml2tuner"].HYPERPARAMETERS
    assert {table[n].acts for n in COMPILER_ONLY} == {"compiler"}
    assert {table[n].acts for n in NO_COMPILER_ONLY} == {"no_compiler"}
    both = searched(table)
    assert set(searched(table, space_kinds={"compiler", "no_compiler"})) == set(both)
    vta = searched(table, space_kinds={"compiler"})
    kt = searched(table, space_kinds={"no_compiler"})
    assert set(both) - set(vta) == {"n_init_no_compiler", "local_share", "init_design"}
    assert set(both) - set(kt) == {"n_init", "a_min_valid"}
    # a setting named by the user is searched whatever the spaces
    assert "a_min_valid" in searched(table, ["a_min_valid", "batch_size"], {"no_compiler"})
    assert space_kind(C9) == "compiler"
    unseen = (ROOT / "benchmarks" / "data" / "kerneltuner_heldout"
              / "convolution__RTX_2080_Ti.json.gz")
    assert space_kind(unseen) == "no_compiler"
    with pytest.raises(ValueError, match="acts='gpu'"):
        searched({"x": HP(1, 0, 2, acts="gpu")})


# ----- settings files ----------------------------------------------------------------------------
def test_settings_file_round_trip_and_refusals(tmp_path):
    table = TUNERS["ml2tuner"].HYPERPARAMETERS
    f = tmp_path / "s.json"
    save_settings(f, "ml2tuner", {"batch_size": 5, "explorer": "sa"}, tuned=True)
    assert load_settings(f, "ml2tuner", table) == {"batch_size": 5, "explorer": "sa"}
    with pytest.raises(UserError, match="not 'random'"):
        load_settings(f, "random", TUNERS["random"].HYPERPARAMETERS)
    save_settings(f, "ml2tuner", {"batch_size": 0})
    with pytest.raises(UserError, match="outside"):
        load_settings(f, "ml2tuner", table)
    f.write_text("{not json")
    with pytest.raises(UserError, match="not a JSON settings file"):
        load_settings(f, "ml2tuner", table)
    f.write_text(json.dumps({"hparams": {}}))
    with pytest.raises(UserError, match="not an ml2tuner settings file"):
        load_settings(f, "ml2tuner", table)
    with pytest.raises(UserError, match="not found"):
        load_settings(tmp_path / "none.json", "ml2tuner", table)


def test_replay_cli_loads_hp_file(tmp_path, capsys):
    from ml2tuner import cli
    f = tmp_path / "s.json"
    save_settings(f, "ml2tuner", {"batch_size": 4})
    rc = cli.main(["replay", "--cache", C11, "--budget", "12", "--repeats", "1",
                   "--hp-file", str(f), "--hp", "epsilon=0.1", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0 and d["hparams"]["batch_size"] == 4 and d["hparams"]["epsilon"] == 0.1
    assert "score_time" in d
    rc = cli.main(["replay", "--cache", C11, "--hp-file", str(tmp_path / "no.json")])
    err = capsys.readouterr().err
    assert rc == 2 and "not found" in err and len(err.strip().splitlines()) == 1


# ----- scores on two axes ------------------------------------------------------------------------
def test_stop_at_cutoff_keeps_both_axes():
    hp = {"batch_size": 8}
    full = ev.run_one(C11, "ml2tuner", hp, 3, 120)
    cut = ev.run_one(C11, "ml2tuner", hp, 3, 120, stop_at_cutoff=True)
    assert cut["score"] == full["score"] and cut["score_time"] == full["score_time"]
    assert cut["n_measured"] <= full["n_measured"]
    # the time axis charges every compile ML2Tuner asks for, so it can sit far below random
    assert np.isfinite(full["score_time"]) and full["score_time"] <= 1.0


# ----- bootstrap ---------------------------------------------------------------------------------
def test_bootstrap_of_a_constant_shift_is_exact():
    rng = np.random.default_rng(0)
    old = rng.uniform(0.2, 0.8, (5, 7))
    b = bootstrap_improvement(old + 0.1, old, n_boot=500)
    assert b["diff"] == pytest.approx(0.1) and b["diff_ci"] == pytest.approx([0.1, 0.1])
    assert b["pct"] == pytest.approx(100 * 0.1 / old.mean())
    assert b["pct_ci"][0] < b["pct"] < b["pct_ci"][1]       # relative: the base varies
    r = bootstrap_improvement(old, old + 0.1, n_boot=500)
    assert r["diff_ci"] == pytest.approx([-0.1, -0.1])


def test_bootstrap_ci_widens_with_noise_and_covers_zero_for_noise():
    rng = np.random.default_rng(1)
    old = rng.uniform(0.4, 0.6, (6, 20))
    noisy = old + rng.normal(0, 0.2, old.shape)
    b = bootstrap_improvement(noisy, old, n_boot=2000)
    assert b["diff_ci"][0] < 0 < b["diff_ci"][1]
    with pytest.raises(ValueError):
        bootstrap_improvement(old, old[:, :3])


# ----- a fake, fast tuner run: score = quality of the setting + seed noise -----------------------
def _fake_quality(hp):
    return 0.5 - 0.01 * abs(hp["batch_size"] - 20) - 0.3 * (hp["explorer"] == "sa")


@pytest.fixture
def fake_runs(monkeypatch):
    seen = []

    def fake(path, tuner, hp, seed, budget, n_points=20, stop_at_cutoff=False, objective=None):
        seen.append((path, dict(hp), seed))
        if hp["batch_size"] == 13:
            raise RuntimeError("boom at 13")
        noise = np.random.default_rng(seed).normal(0, 0.1)
        s = _fake_quality(hp) + noise + (0.2 if path.endswith("C9.jsonl.gz") else 0.0)
        return {"score": s, "score_time": s}
    monkeypatch.setattr(ev, "run_one", fake)
    return seen


def test_common_random_numbers_and_caching(fake_runs):
    obj = RunObjective("ml2tuner", [C9, C10], budget=50, seed=4)
    a, b = {"batch_size": 5, "explorer": "auto"}, {"batch_size": 9, "explorer": "auto"}
    obj.values([(a, 0, 0), (a, 1, 3), (b, 0, 0), (b, 1, 3)])
    seeds = {(Path(p).name, h["batch_size"]): s for p, h, s in fake_runs}
    assert seeds[("resnet18.C9.jsonl.gz", 5)] == seeds[("resnet18.C9.jsonl.gz", 9)]
    assert seeds[("resnet18.C10.jsonl.gz", 5)] == seeds[("resnet18.C10.jsonl.gz", 9)]
    assert seeds[("resnet18.C9.jsonl.gz", 5)] != seeds[("resnet18.C10.jsonl.gz", 5)]
    obj.values([(a, 0, 0), (b, 1, 3)])
    assert obj.n_runs == 4 == len(fake_runs)                 # cached, not rerun


def test_a_crash_is_reported_with_its_setting(fake_runs):
    obj = RunObjective("ml2tuner", [C10], budget=50, seed=0)
    bad = {"batch_size": 13, "explorer": "auto"}
    assert obj.values([(bad, 0, 0)]) == [None] and obj.mean(bad, range(1)) is None
    assert obj.crashes == [{"hparams": bad, "space": str(Path(C10).resolve()),
                            "error": "RuntimeError: boom at 13"}]


SMALL = {"batch_size": HP(10, 1, 40), "explorer": HP("auto", choices=("auto", "sa"))}


@pytest.mark.parametrize("meta", ["smac", "tpe", "random", "dual_annealing"])
def test_strategies_spend_their_run_budget_and_improve(fake_runs, meta):
    obj = RunObjective("ml2tuner", [C9, C10, C11], budget=50, seed=2)
    defaults = {"batch_size": 10, "explorer": "auto"}
    inc, hist = search(meta, obj, SMALL, repeats=2, run_budget=120, seed=0, defaults=defaults)
    assert hist[0]["hparams"] == defaults
    assert obj.n_runs <= 120 + 3 * 2
    assert _fake_quality(inc) > _fake_quality(defaults)
    if meta == "tpe":
        assert any(h["how"] == "pruned" for h in hist)       # successive halving at work


def test_hpo_keeps_the_defaults_when_the_incumbent_loses(fake_runs, monkeypatch, tmp_path):
    from ml2tuner.hpo import ac
    worse = {"batch_size": 2, "explorer": "auto"}
    monkeypatch.setattr(ac, "search", lambda *a, **k: (worse, [
        {"eval": 1, "hparams": worse, "score": 0.9, "pairs": 1, "how": "run"}]))
    d = hpo("ml2tuner", [C9], [C10, C11], "smac", evals=1, repeats=1, budget=20,
            names=["batch_size", "explorer"], out_dir=tmp_path, progress=False)
    assert not d["kept"] and d["final_hparams"] == {"batch_size": 10, "explorer": "auto"}
    assert "defaults stand" in d["verdict"]
    assert d["test_final_vs_defaults"]["time"]["diff"] == 0.0
    assert d["test_incumbent_vs_defaults"]["time"]["diff"] < 0
    s = json.loads((tmp_path / "settings.json").read_text())
    assert s["tuned"] is False and s["hparams"]["batch_size"] == 10


def test_hpo_default_search_on_traces_with_a_compiler(monkeypatch, tmp_path, capsys):
    """With no --params, the settings that act only without a compiler are left out on VTA
    traces, and the output says so."""
    seen = []

    def fake(path, tuner, hp, seed, budget, n_points=20, stop_at_cutoff=False, objective=None):
        seen.append(dict(hp))
        s = 0.5 - 0.01 * abs(hp["batch_size"] - 20)
        return {"score": s, "score_time": s}
    monkeypatch.setattr(ev, "run_one", fake)
    d = hpo("ml2tuner", [C9], [C10], "random", evals=3, repeats=1, budget=20,
            out_dir=tmp_path, validate_repeats=1)
    assert d["not_searched_no_effect"] == ["n_init_no_compiler", "local_share", "init_design"]
    assert "batch_size" in d["searched"] and "a_min_valid" in d["searched"]
    assert not set(d["searched"]) & {"n_init_no_compiler", "local_share", "init_design"}
    assert seen and all("init_design" not in hp and "local_share" not in hp for hp in seen)
    assert ("not searched (no effect on these training spaces): n_init_no_compiler, "
            "local_share, init_design") in capsys.readouterr().err


def test_hpo_when_the_defaults_crash(monkeypatch, tmp_path):
    """Defaults that crash on the re-evaluation are reported as such (no figure made up for
    them) and a tuned setting that runs is kept."""
    def fake(path, tuner, hp, seed, budget, n_points=20, stop_at_cutoff=False, objective=None):
        if hp["batch_size"] == 10:
            raise RuntimeError("the defaults fail here")
        return {"score": 0.3, "score_time": 0.3}
    monkeypatch.setattr(ev, "run_one", fake)
    from ml2tuner.cli.hpo import format_hpo
    d = hpo("ml2tuner", [C9], [C10], "random", evals=4, repeats=1, budget=20,
            names=["batch_size"], out_dir=tmp_path, validate_repeats=2, progress=False)
    assert d["kept"] and d["final_hparams"]["batch_size"] != 10
    assert d["verdict"] == "the defaults crashed on the re-evaluation: the tuned setting is kept"
    assert d["validate"]["defaults"]["time"] is None and d["validate"]["incumbent"]["time"] == 0.3
    assert d["test_final_vs_defaults"]["time"] is None
    assert any("the defaults fail here" in c["error"] for c in d["crashes"])
    text = format_hpo(d)
    assert "defaults crashed" in text and "held-out, final vs defaults (time): crashed" in text
    assert (tmp_path / "hpo.png").stat().st_size > 0
    json.loads((tmp_path / "hpo.json").read_text())


def test_hpo_keeps_a_winner_and_writes_its_settings(fake_runs, monkeypatch, tmp_path, capsys):
    from ml2tuner.cli.hpo import format_hpo
    d = hpo("ml2tuner", [C9, C10], [C11], "smac", evals=10, repeats=2, budget=20,
            names=["batch_size", "explorer"], out_dir=tmp_path, progress=False,
            validate_repeats=20, test_repeats=20)
    assert d["kept"] and d["final_hparams"] == d["incumbent_hparams"]
    assert _fake_quality(d["final_hparams"]) > _fake_quality(d["default_hparams"])
    c = d["test_final_vs_defaults"]["time"]
    assert c["pct"] > 0 and c["pct_ci"][0] > 0
    table = TUNERS["ml2tuner"].HYPERPARAMETERS
    assert load_settings(tmp_path / "settings.json", "ml2tuner", table)["batch_size"] == \
        d["final_hparams"]["batch_size"]
    text = format_hpo(d)
    assert "kept" in text and "95 % CI" in text
    # every held-out run is kept, so that several searches' results can be pooled
    runs = d["test_runs"]
    assert np.array(runs["final"]["time"]).shape == (1, 20)
    assert np.mean(runs["final"]["time"]) == pytest.approx(d["test_scores"]["final"]["time"])
    assert np.mean(runs["defaults"]["time"]) == pytest.approx(
        d["test_scores"]["defaults"]["time"])
    assert "test_runs" in json.loads((tmp_path / "hpo.json").read_text())


def test_hpo_reports_crashes(fake_runs, monkeypatch, tmp_path):
    from ml2tuner.hpo import ac
    crashy = {"batch_size": 13, "explorer": "auto"}
    monkeypatch.setattr(ac, "search", lambda *a, **k: (crashy, []))
    d = hpo("ml2tuner", [C9], [C10], "tpe", evals=1, repeats=1, budget=20,
            names=["batch_size", "explorer"], progress=False, validate_repeats=2)
    assert not d["kept"] and "crashed" in d["verdict"]
    assert d["crashes"] and d["crashes"][0]["hparams"] == crashy
    assert "boom at 13" in d["crashes"][0]["error"]


def test_canonical_fills_defaults():
    assert canonical(SMALL, {"batch_size": 3}) == {"batch_size": 3, "explorer": "auto"}


# ----- the aggregate: runs floored before averaging ---------------------------------------------
def test_run_value_raises_a_run_to_the_floor():
    from ml2tuner.hpo.objective import run_value
    r = {"score": 0.4, "score_time": -5.0}
    assert run_value(r, "time") == -5.0 and run_value(r, "time", -1.0) == -1.0
    assert run_value(r, "samples", -1.0) == 0.4            # above the floor: unchanged
    assert run_value(r, "both") == pytest.approx(-2.3)
    assert run_value(r, "both", -1.0) == -1.0


def test_gap_closed_is_defined_at_a_zero_baseline():
    c = bootstrap_improvement(np.full((2, 3), 0.5), np.zeros((2, 3)), n_boot=50)
    assert c["gap"] == pytest.approx(50.0) and c["gap_ci"] == pytest.approx([50.0, 50.0])
    assert np.isnan(c["pct"])                    # relative to |0|: undefined
    c = bootstrap_improvement(np.full((2, 3), 0.75), np.full((2, 3), 0.5), n_boot=50)
    assert c["gap"] == pytest.approx(50.0) and c["pct"] == pytest.approx(50.0)


@pytest.fixture
def one_catastrophe(monkeypatch):
    """batch_size 2 scores 0.3 on every run but one, which scores -20; the defaults 0."""
    from ml2tuner.hpo.meta import TEST_SEEDS, VALIDATE_SEEDS
    bad = {ev.run_seed(0, 0, VALIDATE_SEEDS), ev.run_seed(0, 0, TEST_SEEDS)}

    def fake(path, tuner, hp, seed, *a):
        s = 0.0 if hp["batch_size"] == 10 else (-20.0 if seed in bad else 0.3)
        return {"score": s, "score_time": s}
    monkeypatch.setattr(ev, "run_one", fake)


@pytest.mark.parametrize("floor", [-1.0, None])
def test_one_catastrophic_run_decides_only_the_raw_mean(one_catastrophe, monkeypatch, floor):
    from ml2tuner.hpo import ac
    from ml2tuner.cli.hpo import format_hpo
    cand = {"batch_size": 2, "explorer": "auto"}
    monkeypatch.setattr(ac, "search", lambda *a, **k: (cand, []))
    d = hpo("ml2tuner", [C9], [C10], "smac", evals=1, repeats=1, budget=20, seed=0,
            names=["batch_size", "explorer"], progress=False, validate_repeats=10,
            test_repeats=10, floor=floor)
    # 9 runs at 0.3 and one at -20: floored at -1 the mean is 0.17 > 0, raw it is -1.73
    assert d["validate"]["incumbent"]["time"] == pytest.approx(0.17 if floor else -1.73)
    assert d["kept"] is (floor is not None)
    assert d["floor"] == floor and ("raised to -1" in d["aggregate"]) is (floor is not None)
    raw = d["test_final_vs_defaults_raw"]["time"]
    if floor is not None:
        assert d["test_final_vs_defaults"]["time"]["new"] == pytest.approx(0.17)
        assert raw["new"] == pytest.approx(-1.73)        # the same runs, unfloored
        assert "raw mean" in format_hpo(d)
    else:
        assert raw["diff"] == 0.0                         # defaults stand


@pytest.mark.parametrize("floor", [1.0, 2.5, float("nan"), True])
def test_a_bad_floor_is_a_user_error(floor):
    with pytest.raises(UserError, match="floor"):
        hpo("ml2tuner", [C9], [C10], "smac", evals=1, repeats=1, budget=20,
            names=["batch_size"], progress=False, floor=floor)


def test_cli_floor_argument():
    from ml2tuner.cli.hpo import _floor_arg
    parse = _floor_arg()
    assert parse("none") is None and parse("-0.5") == -0.5
    import argparse
    for bad in ("1", "x", "inf"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse(bad)


def test_smac_draws_the_set_share_of_random_challengers(fake_runs, monkeypatch):
    """The random share reaches SMAC's random design (the facade's own default is 0.5)."""
    from smac import AlgorithmConfigurationFacade as AC
    from ml2tuner.hpo import ac
    seen = []
    orig = AC.get_random_design

    def spy(scenario, probability=0.5):
        seen.append(probability)
        return orig(scenario, probability=probability)
    monkeypatch.setattr(AC, "get_random_design", staticmethod(spy))
    obj = RunObjective("ml2tuner", [C9, C10], budget=50, seed=2)
    search("smac", obj, SMALL, repeats=2, run_budget=12, seed=0,
           defaults={"batch_size": 10, "explorer": "auto"})
    assert ac.SMAC_RANDOM_SHARE in seen and ac.SMAC_RANDOM_SHARE < 0.5


def test_smac_races_challengers_on_every_training_space(fake_runs):
    """Each challenger's first race is one seed on all spaces, not one run on one space."""
    from collections import Counter
    from ml2tuner.hpo.objective import hp_key
    obj = RunObjective("ml2tuner", [C9, C10, C11], budget=50, seed=2)
    defaults = {"batch_size": 10, "explorer": "auto"}
    inc, hist = search("smac", obj, SMALL, repeats=4, run_budget=90, seed=0, defaults=defaults)
    runs = Counter(hp_key(h["hparams"]) for h in hist)
    last = hp_key(hist[-1]["hparams"])            # may be cut short by the budget
    assert len(runs) > 5
    # challengers in blocks of 3; incumbents also gain one pair at a time
    assert all(n >= 3 for k, n in runs.items() if k != last)
    assert sum(n % 3 == 0 for n in runs.values()) >= len(runs) - 4
    assert max(runs.values()) <= 12               # repeats x spaces per setting
    assert _fake_quality(inc) > _fake_quality(defaults)


_SMAC_RUN = """
import json, sys
import numpy as np
from ml2tuner.hpo import evaluate as ev
from ml2tuner.hpo.ac import search
from ml2tuner.hpo.objective import RunObjective
from ml2tuner.hparams import HP

def fake(path, tuner, hp, seed, budget, n_points=20, stop_at_cutoff=False, objective=None):
    s = 0.5 - 0.01 * abs(hp["batch_size"] - 20) - 0.3 * hp["epsilon"] \\
        + np.random.default_rng(seed).normal(0, 0.1)
    return {"score": s, "score_time": s}
ev.run_one = fake
table = {"batch_size": HP(10, 1, 64), "epsilon": HP(0.05, 0.0, 0.5),
         "n_init": HP(8, 2, 200), "mode": HP("a", choices=("a", "b", "c"))}
obj = RunObjective("ml2tuner", sys.argv[1:4], budget=50, seed=2)
inc, hist = search("smac", obj, table, repeats=4, run_budget=100, seed=0,
                   defaults={k: h.default for k, h in table.items()})
print(json.dumps([h["hparams"] for h in hist] + [inc]))
"""


def test_smac_search_is_reproducible_across_processes():
    """One seed, one search: neither the forest's threaded sums nor Python's string-hash
    randomisation (it orders SMAC's local-search start points) may change the proposals."""
    import os
    import subprocess
    import sys
    outs = []
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed, PYTHONPATH=str(ROOT))
        r = subprocess.run([sys.executable, "-c", _SMAC_RUN, C9, C10, C11], env=env,
                           capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert r.returncode == 0, r.stderr[-2000:]
        outs.append(json.loads(r.stdout.strip().splitlines()[-1]))
    assert len(outs[0]) == 101 and outs[0] == outs[1]
    assert len({json.dumps(h, sort_keys=True) for h in outs[0]}) > 10   # it searched
