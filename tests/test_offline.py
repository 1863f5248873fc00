"""Offline training, model bundles, evaluation and warm start."""
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from ml2tuner import cli
from ml2tuner.errors import UserError
from ml2tuner.offline import evaluate_bundle, leave_one_out, load_traces, train
from ml2tuner.surrogates import AdvancedModel, PerformanceModel, ValidityModel
from ml2tuner.surrogates.bundle import load_bundle, save_bundle

ROOT = Path(__file__).resolve().parents[1]
T = ROOT / "traces" / "vta-1x16"
SMALL = [T / f"resnet18.{c}.jsonl.gz" for c in ("C9", "C10", "C11")]
TRAIN = [T / f"resnet18.{c}.jsonl.gz" for c in ("C6", "C8", "C9", "C10", "C11")]
HELD_OUT = T / "resnet18.C7.jsonl.gz"


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("bundle") / "b"
    train(TRAIN, d)
    return d


def run_cli(args, capsys):
    rc = cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_streamed_arrays_match_traces():
    ts = load_traces(SMALL)
    assert ts.X.dtype == np.float32 and ts.X.shape == (480 + 480 + 576, 7)
    assert ts.knobs[:2] == ["tile_b", "tile_h"] and "wl_OC" in ts.descriptor_names
    assert ts.H.shape[0] == ts.valid.sum() and len(ts.hidden_names) > 10
    assert np.isnan(ts.log_cost[~ts.valid]).all() and np.isfinite(ts.log_cost[ts.valid]).all()
    assert [t["n"] for t in ts.traces] == [480, 480, 576]
    assert all(len(t["sha256"]) == 64 for t in ts.traces)


def test_bundle_roundtrip_identical_predictions(tmp_path):
    ts = load_traces(SMALL)
    F = ts.features()
    cost = np.exp(ts.log_cost[ts.valid])
    v = ValidityModel(n_estimators=20, threshold=0.3).fit(F, ts.valid)
    p = PerformanceModel(n_estimators=20).fit(F[ts.valid], cost)
    a = AdvancedModel(n_estimators=20).fit(ts.a_features(), cost)
    save_bundle(tmp_path / "b", v, p, a, {"features": {
        "visible": ts.knobs, "descriptor": ts.descriptor_names, "hidden": ts.hidden_names}})
    b = load_bundle(tmp_path / "b")
    assert b.threshold == 0.3
    assert np.array_equal(b.v.predict_proba(F), v.predict_proba(F))
    assert np.array_equal(b.p.predict_log(F[ts.valid]), p.predict_log(F[ts.valid]))
    assert np.array_equal(b.a.predict_log(ts.a_features()), a.predict_log(ts.a_features()))
    # bound to a space + descriptor: knob columns by name, descriptor appended
    tr = load_traces([SMALL[2]])
    from ml2tuner.traces import read_trace
    space = read_trace(SMALL[2]).space
    desc = tr.traces[0]["descriptor"]
    idx = np.arange(len(space))
    want = v.predict_proba(np.hstack([space.features(idx),
                                      np.tile([desc[k] for k in ts.descriptor_names],
                                              (len(idx), 1))]))[:, 1]
    assert np.allclose(b.predict_validity(space, desc, idx), want)


def test_no_pickle_anywhere(bundle_dir):
    for f in bundle_dir.iterdir():
        data = f.read_bytes()
        assert not data.startswith(b"\x80"), f"{f.name} looks like a pickle"
        json.loads(data)                        # every bundle file is plain JSON
    for mod in ("offline.py", "surrogates/bundle.py", "transfer.py", "warmstart.py"):
        src = (ROOT / "ml2tuner" / mod).read_text()
        assert "import pickle" not in src and "joblib" not in src and "cloudpickle" not in src


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_tampered_or_incompatible_bundle_refused(bundle_dir, tmp_path):
    d = _copy(bundle_dir, tmp_path / "tampered")
    text = (d / "p.json").read_text()
    i = next(i for i, ch in enumerate(text) if ch.isdigit() and ch != "9")
    (d / "p.json").write_text(text[:i] + "9" + text[i + 1:])
    with pytest.raises(UserError, match="sha256"):
        load_bundle(d)

    d = _copy(bundle_dir, tmp_path / "schema")
    m = json.loads((d / "manifest.json").read_text())
    m["schema"] = 99
    (d / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(UserError, match="schema 99"):
        load_bundle(d)

    d = _copy(bundle_dir, tmp_path / "names")
    m = json.loads((d / "manifest.json").read_text())
    m["features"]["visible"][1] = "tile_x"
    (d / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(UserError, match="other features"):
        load_bundle(d)

    with pytest.raises(UserError, match="no manifest.json"):
        load_bundle(tmp_path / "nothing")


def test_evaluate_on_held_out_layer(bundle_dir):
    m = evaluate_bundle(bundle_dir, [HELD_OUT])
    assert m["v"]["auc"] > 0.8
    assert 0.5 < m["v"]["invalid_caught"] <= 1 and 0 <= m["v"]["valid_dropped"] < 0.3
    for k in ("p", "a"):
        assert m[k]["kendall_tau"] > 0.5 and np.isfinite(m[k]["rmse"])
        assert m[k]["top10_recall"] >= 0.5        # random ranking: 10 / n, about 0.03 here
    assert m["p"]["n"] == m["a"]["n"] == m["v"]["n"] - m["v"]["n_invalid"]
    # the hidden features pay on a layer the bundle never saw
    assert m["rmse_ratio_a_p"] == pytest.approx(m["a"]["rmse"] / m["p"]["rmse"])
    assert m["rmse_ratio_a_p"] < 0.8
    assert m["per_trace"][0]["workload"] == "resnet18.C7"
    man = load_bundle(bundle_dir).manifest
    assert [Path(t["path"]).name for t in man["traces"]] == [p.name for p in TRAIN]
    assert man["training"]["oof_auc"] > 0.8
    # calibration: the highest threshold dropping at most max_valid_drop of the valid configs
    # out of fold, clipped to [0.02, 0.98]
    thr, tr = man["models"]["v"]["threshold"], man["training"]
    assert thr == 0.02 or tr["oof_valid_dropped"] <= tr["max_valid_drop"] + 1 / tr["valid_rows"]
    assert m["v"]["threshold"] == thr


def test_leave_one_out_protocol():
    r = leave_one_out(SMALL, by="layer", p_params={"n_estimators": 30},
                      a_params={"n_estimators": 30})
    assert r["protocol"] == "leave-one-layer-out" and len(r["folds"]) == 3
    assert r["mean"]["v"]["auc"] > 0.5
    with pytest.raises(UserError, match="at least two accels"):
        leave_one_out(SMALL, by="accel")


def _rewrite_header(src: Path, dst: Path, **change) -> Path:
    with gzip.open(src, "rt") as f:
        lines = f.readlines()
    h = json.loads(lines[0])
    for k, v in change.items():
        if v is None:
            h.pop(k, None)
        else:
            h[k] = v
    dst.write_text(json.dumps(h) + "\n" + "".join(lines[1:]))
    return dst


def test_mixed_spaces_need_descriptors(tmp_path):
    bare = [_rewrite_header(p, tmp_path / p.name.replace(".gz", ""), descriptor=None)
            for p in SMALL[:2]]
    with pytest.raises(UserError, match="need task descriptors"):
        train(bare, tmp_path / "b")
    train(bare[:1], tmp_path / "one")          # one space needs none
    assert load_bundle(tmp_path / "one").descriptor_names == []


def test_cli_train_evaluate_and_bad_input(tmp_path, capsys, bundle_dir):
    out = tmp_path / "m"
    rc, o, _ = run_cli(["train", "--traces", *SMALL, "--out", out, "--json"], capsys)
    d = json.loads(o)
    assert rc == 0 and d["traces"] == 3 and set(d["files"]) == {"manifest.json", "v.json",
                                                                 "p.json", "a.json"}
    rc, o, _ = run_cli(["evaluate", "--model", out, "--traces", HELD_OUT, "--json"], capsys)
    assert rc == 0 and json.loads(o)["v"]["auc"] > 0.5
    for args, msg in (
            (["train", "--traces", tmp_path / "nope.jsonl", "--out", out], "not found"),
            (["evaluate", "--traces", HELD_OUT], "--model is required"),
            (["evaluate", "--model", tmp_path / "nope", "--traces", HELD_OUT], "no manifest"),
            (["evaluate", "--traces", SMALL[0], "--protocol", "leave-one-layer-out"],
             "at least two")):
        rc, o, e = run_cli(args, capsys)
        assert rc == 2 and msg in e and len(e.strip().splitlines()) == 1, (args, e)


def test_warm_start_uses_bundle_from_first_round(bundle_dir):
    from ml2tuner.replay import ReplayMeasurer
    from ml2tuner.tuners import make_tuner
    from ml2tuner.warmstart import set_initial_design, warm_start
    m = ReplayMeasurer.from_file(HELD_OUT)
    ok = m.data.status == "ok"
    perf = np.where(ok, np.nanmin(m.data.cost) / np.where(ok, m.data.cost, np.inf), 0.0)
    t = make_tuner("ml2tuner", m.space, seed=0, explorer="exhaustive", epsilon=0.0)
    warm_start(t, bundle_dir, m)
    assert t.hp["n_init"] == 0 and all(t.fitted.values())
    res = t.tune(10, m)
    first = [r.index for r in res.history]
    assert all(r.valid for r in res.history)           # V + compile filter from round one
    assert perf[first].max() > 0.8 and perf[first].mean() > perf[ok].mean()
    t.refit()                                          # own models take over gradually
    n_valid = sum(r.valid for r in res.history)
    assert t.p.n_own == n_valid
    assert t.p.weight == pytest.approx(n_valid / (n_valid + t.p.prior_samples))
    with pytest.raises(UserError, match="ml2tuner tuner"):
        warm_start(make_tuner("random", m.space), bundle_dir, m)
    # a queued initial design is measured first
    m.reset()
    t = make_tuner("ml2tuner", m.space, seed=0)
    want = [int(i) for i in np.flatnonzero(ok)[:3]]
    set_initial_design(t, want)
    assert [r.index for r in t.tune(3, m).history] == want
