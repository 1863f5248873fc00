"""ML2Tuner's three models as a MetaSchedule cost model (`PyCostModel`; higher score is better).

The models are the project's own surrogates (`ml2tuner.surrogates`):

    V  ValidityModel,    visible features          -> P(candidate builds and runs)  (trained on
                                                      every measurement, failures included)
    P  PerformanceModel, visible features          -> log relative cost             (valid ones)
    A  AdvancedModel,    visible + hidden features -> log relative cost             (valid ones)

Relative cost of a valid measurement = its cost / the best cost of its task (>= 1, so P and A
fit positive costs as they do on accelerator traces; tasks of different sizes share a model).
Visible features are the trace decisions and numbers derived from the tile sizes; hidden ones are
pooled PerStoreFeature of the scheduled TensorIR (see features.py).

Ranking (`ML2Models.blend`): with a few dozen measurements P and A are often blind (on the ResNet
convs their rank correlation with latency was about 0 after 16 and 32 trials), so they are not
trusted blindly. Every predictor (the fixed tile prior `agg.prior`, P, A) is scored
prequentially: before each batch is fitted, the Spearman correlation of its prediction with the
batch's measured speed is recorded. Its trust is that evidence shrunk towards 0.3 (the prior,
its offline figure) or 0 (P, A) with a weight of 16 rows. A candidate's score is exp of a
Thompson-style draw: sum of trust · z-score of each prediction plus Gaussian noise for the
variance they leave unexplained. So the first batch is the prior plus noise, and P and A take
over on a task once they have ranked unseen candidates well, not merely once they are fitted.

predict() (mode "cascade", used when the search strategy is MetaSchedule's own): the blend of
prior and P scores every candidate; the `shortlist` best by P(valid)·P are re-scored by A (only they pay for hidden-
feature extraction) and keep their lead over the rest; candidates with P(valid) < v_threshold
are pushed to the bottom (score · 1e-3), not removed, so the evolutionary search can still fall
back on them. V only judges single candidates once it has seen `v_min_failures` failures (see
ML2Models.v_active); before that it neither gates nor drops anything.
P and A are fitted from `warmup` valid measurements on. MetaSchedule clips scores at 0.
With `search.ML2SearchStrategy` the evolution is steered by `proposal_model()` (V·P only) and
the (alpha+1)·N -> V -> A selection happens in `ML2Models.select`.

Failures only reach update() through `callback.UpdateCostModelAll`; TVM's default
UpdateCostModel callback drops build failures before calling update(). A batch in which every
build timed out is skipped with a warning (a broken builder, not bad candidates).
`ML2CostModel(model_dir=DIR)` warm-starts from a bundle (from `save()`, `tvm-tune --save-model`
or `ml2tuner train` on TVM traces): its rows stay in the training data, so new tasks are fitted
together with the old ones.

save(path)/load(path): `path` is a model bundle (`ml2tuner.surrogates.bundle`): manifest.json,
v.json/p.json/a.json (XGBoost's JSON model format, sha256-checked, with the feature names
embedded), plus data.npz (the training data, loaded with allow_pickle=False) and the
cost-model state under the manifest key "tvm_cost_model". Feature names: visible_names() (108),
no task descriptor, hidden_names() (329). Before P is trained (fewer than `warmup` valid
measurements) the manifest lists no models (`load_bundle` refuses it as untrained) and load()
refits V from data.npz. No pickle anywhere.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..measure import Status
from ..selection import ml2_step
from ._env import require_tvm
from .callback import all_builds_timed_out, classify, warn_build_timeouts
from .features import (HIDDEN_WIDTH, PRIOR_COLUMN, VISIBLE_WIDTH, hidden_matrix, hidden_names,
                       visible_matrix, visible_names)

require_tvm()
from tvm.ir.utils import derived_object  # noqa: E402
from tvm.s_tir.meta_schedule.cost_model import PyCostModel  # noqa: E402
from tvm.s_tir.meta_schedule.utils import shash2hex  # noqa: E402

FORMAT = "ml2tuner.tvm.ML2CostModel"
FORMAT_VERSION = 4               # 4: agg.last_inner and agg.prior among the visible features
STATE_KEY = "tvm_cost_model"      # the manifest entry holding this cost model's own state


def make_models(seed: int = 0, n_jobs: int = 1) -> dict:
    """The three estimators (unfitted): ml2tuner.surrogates' V, P and A.

    Settings: `surrogates.defaults.MODEL_SETTINGS["tvm"]`."""
    from ..surrogates import AdvancedModel, PerformanceModel, ValidityModel
    from ..surrogates.defaults import model_settings
    kw = dict(n_jobs=n_jobs, random_state=seed)
    return {"V": ValidityModel(**model_settings("tvm", "v"), **kw),
            "P": PerformanceModel(**model_settings("tvm", "p"), **kw),
            "A": AdvancedModel(**model_settings("tvm", "a"), **kw)}


def feature_names() -> dict:
    """The bundle's feature layout: V and P read `visible`, A reads `visible + hidden`."""
    return {"visible": visible_names(), "descriptor": [], "hidden": hidden_names()}


class ML2Models:
    """The array-level core (no TVM): training data, fitting, three-stage scoring."""

    def __init__(self, *, seed: int = 0, shortlist: int | None = 32, v_threshold: float = 0.5,
                 warmup: int = 8, n_jobs: int = 1, model_factory=make_models,
                 v_min_failures: int = 3, prior_rho: float = 0.3, prior_rows: int = 16):
        self.seed, self.shortlist, self.v_threshold = seed, shortlist, v_threshold
        self.prior_rho, self.prior_rows = float(prior_rho), int(prior_rows)
        # prequential evidence per predictor: [sum of n·rho, sum of n] over measured batches,
        # rho = Spearman between its prediction (made before the batch was fitted) and the
        # measured speed of the batch's valid candidates
        self.evidence = {k: [0.0, 0] for k in ("prior", "P", "A")}
        self.warmup, self.n_jobs = warmup, n_jobs
        self.v_min_failures = int(v_min_failures)
        self.model_factory = model_factory
        self.rng = np.random.default_rng(seed)
        self.groups: list[str] = []
        self.vis = np.empty((0, VISIBLE_WIDTH))
        self.hid = np.empty((0, HIDDEN_WIDTH))
        self.valid = np.empty(0, dtype=bool)
        self.cost = np.empty(0)
        self.group = np.empty(0, dtype=np.int64)
        self.models: dict = {"V": None, "P": None, "A": None}
        self.valid_rate = 1.0

    # ----- data ---------------------------------------------------------------------------
    def add(self, group: str, vis, hid, valid, cost) -> None:
        self._record_evidence(vis, hid, valid, cost)
        if group not in self.groups:
            self.groups.append(group)
        g = self.groups.index(group)
        n = len(valid)
        self.vis = np.vstack([self.vis, np.asarray(vis, dtype=np.float64).reshape(n, -1)])
        self.hid = np.vstack([self.hid, np.asarray(hid, dtype=np.float64).reshape(n, -1)])
        self.valid = np.concatenate([self.valid, np.asarray(valid, dtype=bool)])
        self.cost = np.concatenate([self.cost, np.asarray(cost, dtype=np.float64)])
        self.group = np.concatenate([self.group, np.full(n, g, dtype=np.int64)])

    def _record_evidence(self, vis, hid, valid, cost) -> None:
        """How well the prior, P and A ranked a new batch before it is added to their data."""
        n = len(valid)
        vis = np.asarray(vis, dtype=np.float64).reshape(n, -1)
        cost = np.asarray(cost, dtype=np.float64)
        m = np.asarray(valid, dtype=bool) & np.isfinite(cost)
        if m.sum() < 3:
            return
        speed = -np.log(cost[m])
        preds = self._speed_parts(vis[m], np.asarray(hid, dtype=np.float64).reshape(n, -1)[m])
        for k, s in preds.items():
            rho = _spearman(s, speed)
            if rho is not None:
                self.evidence[k][0] += float(rho) * int(m.sum())
                self.evidence[k][1] += int(m.sum())

    def trust(self, name: str) -> float:
        """Estimated rank correlation of a predictor with the measured speed, >= 0: the
        prequential evidence, shrunk towards `prior_rho` (the prior) or 0 (P, A: a model is
        not trusted before it has ranked unseen measurements) with a weight of `prior_rows`."""
        s, n = self.evidence[name]
        r0 = self.prior_rho if name == "prior" else 0.0
        return max(0.0, (self.prior_rows * r0 + s) / (self.prior_rows + n))

    def blend(self, parts: dict) -> np.ndarray:
        """Thompson-style draw of each candidate's standardised speed: sum over predictors of
        trust · z-score of its prediction, plus Gaussian noise for the variance they leave
        unexplained (sqrt(1 - sum trust^2), at least sqrt(0.1)). With no trusted predictor
        this is a random order; as evidence grows the trusted predictors take over."""
        n = len(next(iter(parts.values())))
        z = np.zeros(n)
        explained = 0.0
        for k, s in parts.items():
            w = self.trust(k)
            z += w * _zscore(s)
            explained += w * w
        return z + np.sqrt(max(0.1, 1.0 - explained)) * self.rng.standard_normal(n)

    def _speed_parts(self, vis, hid=None) -> dict:
        """Higher-is-better predictions of the prior, P (if trained) and A (if trained and the
        hidden features are given)."""
        parts = {"prior": -vis[:, PRIOR_COLUMN]}
        if self.models["P"] is not None:
            parts["P"] = -self.models["P"].predict_log(vis)
        if hid is not None and self.models["A"] is not None:
            parts["A"] = -self.models["A"].predict_log(np.hstack([vis, hid]))
        return parts

    def relative_cost(self) -> np.ndarray:
        """cost / best cost of its group for valid rows (>= 1); NaN for invalid rows."""
        y = np.full(len(self.cost), np.nan)
        for g in np.unique(self.group):
            m = (self.group == g) & self.valid
            if m.any():
                y[m] = self.cost[m] / self.cost[m].min()
        return y

    def targets(self) -> np.ndarray:
        """Normalised throughput of each valid row (best cost of its group / cost), 0 if invalid."""
        return np.nan_to_num(1.0 / self.relative_cost(), nan=0.0)

    @property
    def n_valid(self) -> int:
        return int(self.valid.sum())

    @property
    def v_active(self) -> bool:
        """Whether V's per-candidate predictions are used. On CPU failures are rare: a classifier
        fitted on one or two failures among many successes marks whole regions invalid from a
        single flaky run, so below `v_min_failures` failures every candidate gets the observed
        valid rate (no candidate is pushed down or dropped by V)."""
        return int((~self.valid).sum()) >= self.v_min_failures

    # ----- fitting -------------------------------------------------------------------------
    def fit(self) -> None:
        n = len(self.valid)
        if n == 0:
            return
        fresh = self.model_factory(seed=self.seed, n_jobs=self.n_jobs)
        self.valid_rate = float(self.valid.mean())
        # ValidityModel handles one-class data itself (a constant: the rate seen so far)
        fresh["V"].fit(self.vis, self.valid.astype(np.int64))
        self.models["V"] = fresh["V"]
        if self.n_valid >= max(2, self.warmup):
            m = self.valid
            y = self.relative_cost()[m]
            fresh["P"].fit(self.vis[m], y)
            fresh["A"].fit(np.hstack([self.vis[m], self.hid[m]]), y)
            self.models["P"], self.models["A"] = fresh["P"], fresh["A"]

    # ----- scoring -------------------------------------------------------------------------
    def p_valid(self, vis: np.ndarray) -> np.ndarray:
        if self.models["V"] is None or not self.v_active:
            return np.full(len(vis), self.valid_rate if len(self.valid) else 1.0)
        return self.models["V"].predict_proba(vis)[:, 1]

    def _tput(self, which: str, X) -> np.ndarray:
        """best cost / predicted cost (higher is better)."""
        return _throughput(-self.models[which].predict_log(X))

    def _gate(self, pv: np.ndarray) -> np.ndarray:
        if not self.v_active:
            return np.ones_like(pv)
        return np.where(pv >= self.v_threshold, pv, 1e-3 * pv)

    def score(self, vis: np.ndarray, hidden_fn, mode: str = "cascade") -> dict:
        """Scores of candidates given their visible features; `hidden_fn(idx)` returns the
        hidden features of the candidates at positions idx (called once, on the shortlist).
        mode "cascade": V·P, then A on the shortlist; "vp": V·P only (no hidden features);
        "va": V·A on every candidate (hidden features for all; V·P until A is trained)."""
        n = len(vis)
        if mode not in ("cascade", "vp", "va"):
            raise ValueError(f"unknown scoring mode {mode!r}")
        pv = self.p_valid(vis)
        out = {"p_valid": pv, "p": None, "a": None, "shortlist": np.empty(0, dtype=np.int64)}
        gate = self._gate(pv)
        hid = None
        if mode == "va" and self.models["A"] is not None:
            hid = np.asarray(hidden_fn(np.arange(n)), dtype=np.float64).reshape(n, -1)
        # each model predicts once: its throughput below and its part in the blend
        parts = self._speed_parts(vis, hid)
        if "A" in parts:
            out["a"], out["shortlist"] = _throughput(parts["A"]), np.arange(n)
        if "P" in parts:
            out["p"] = _throughput(parts["P"])
        # the prior, P and (mode "va") A, weighted by how well each has ranked measured batches
        final = gate * np.exp(self.blend(parts))
        k = n if self.shortlist is None else min(n, int(self.shortlist))
        if mode == "cascade" and self.models["A"] is not None and k > 0:
            top = np.argsort(-final, kind="stable")[:k]
            hid = np.asarray(hidden_fn(top), dtype=np.float64).reshape(len(top), -1)
            a = self._tput("A", np.hstack([vis[top], hid]))
            a_full = np.full(n, np.nan)
            a_full[top] = a
            out["a"], out["shortlist"] = a_full, top
            short = gate[top] * a
            rest = np.ones(n, dtype=bool)
            rest[top] = False
            if rest.any():
                # keep the shortlist ahead: scale the rest below the shortlist's minimum
                lo, hi = short.min(), final[rest].max()
                if hi > 0:
                    final = final * (0.999 * lo / hi if lo > 0 else 1e-6 / hi)
            final[top] = short
        out["score"] = final + 1e-12
        return out

    def select(self, vis: np.ndarray, hidden_fn, n: int) -> dict:
        """The ML2 step (`ml2tuner.selection.ml2_step`, as ML2Tuner takes it) on a proposal
        pool of (alpha+1)·N candidates: drop those V predicts invalid (unless fewer than n
        would remain: then the likeliest valid ones fill up), rank the rest by the blend of the
        prior, P and A (those trained; see the module doc) and take n. Hidden features are computed for V's
        survivors only. Returns {"picked", "p_valid", "a", "n_rejected"}."""
        m = len(vis)
        n = min(int(n), m)
        pv = self.p_valid(vis)
        a = np.full(m, np.nan)

        def score(cand: list) -> np.ndarray:
            ok = np.asarray(cand, dtype=np.int64)
            hid = None
            if self.models["A"] is not None:
                hid = np.asarray(hidden_fn(ok), dtype=np.float64).reshape(len(ok), -1)
            parts = self._speed_parts(vis[ok], hid)
            if "A" in parts:
                a[ok] = _throughput(parts["A"])
            return self.blend(parts)

        step = ml2_step(range(m), n, p_valid=lambda _pool: pv, v_threshold=self.v_threshold,
                        v_active=self.v_active, score=score, rng=self.rng)
        return {"picked": np.asarray(step.ranked[:n], dtype=np.int64), "p_valid": pv, "a": a,
                "n_rejected": step.n_rejected}

    # ----- persistence ---------------------------------------------------------------------
    def params(self) -> dict:
        return {"seed": self.seed, "shortlist": self.shortlist, "v_threshold": self.v_threshold,
                "warmup": self.warmup, "n_jobs": self.n_jobs, "v_min_failures": self.v_min_failures,
                "prior_rho": self.prior_rho, "prior_rows": self.prior_rows}

    def _state(self) -> dict:
        return {"format": FORMAT, "version": FORMAT_VERSION, "params": self.params(),
                "visible_width": VISIBLE_WIDTH, "hidden_width": HIDDEN_WIDTH,
                "groups": self.groups, "valid_rate": self.valid_rate, "data": "data.npz",
                "n_rows": int(len(self.valid)), "n_valid": self.n_valid}

    def save(self, path, extra_meta: dict | None = None) -> dict:
        """Write the model bundle (see the module doc); return its manifest. `extra_meta` goes
        into the manifest as is (e.g. the traces a bundle was trained on). It is built in a
        folder beside `path` and swapped in whole, so a kill never damages an earlier one."""
        from ..fileio import replace_dir, staging_dir
        stage = staging_dir(path)
        try:
            manifest = self._save_into(stage, extra_meta)
            replace_dir(stage, path)
        finally:
            if stage.exists():
                import shutil
                shutil.rmtree(stage)
        return manifest

    def _save_into(self, d: Path, extra_meta: dict | None = None) -> dict:
        from ..surrogates.bundle import FORMAT as BUNDLE_FORMAT
        from ..surrogates.bundle import MANIFEST, SCHEMA_VERSION, save_bundle
        np.savez(d / "data.npz", vis=self.vis, hid=self.hid, valid=self.valid, cost=self.cost,
                 group=self.group)
        state = {**self._state(), "data_sha256": _sha256(d / "data.npz")}
        meta = {"features": feature_names(), "v_threshold": self.v_threshold,
                "backend": "tvm-meta-schedule", STATE_KEY: state, **(extra_meta or {})}
        if self.models["V"] is not None and self.models["P"] is not None:
            return save_bundle(d, self.models["V"], self.models["P"], self.models["A"], meta)
        # not trained yet: a manifest in the bundle's format listing no models; load() refits
        from .. import __version__
        manifest = {"format": BUNDLE_FORMAT, "schema": SCHEMA_VERSION,
                    "tool": f"ml2tuner {__version__}",
                    "features": {**meta.pop("features"), "fill_value": None},
                    "models": {"v": None, "p": None, "a": None}, **meta}
        (d / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        return manifest

    def load(self, path) -> None:
        from ..surrogates.bundle import MANIFEST, load_bundle
        from ..validate import read_json_file
        d = Path(path)
        if not d.is_dir():
            raise UserError(f"{d}: not an ML2CostModel bundle (not a directory)")
        try:
            manifest = read_json_file(d / MANIFEST, "manifest")
        except UserError as e:
            raise UserError(f"{d}: not an ML2CostModel bundle ({e})") from None
        state = manifest.get(STATE_KEY) if isinstance(manifest, dict) else None
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise UserError(f"{d}: not an ML2CostModel bundle (no {STATE_KEY!r} entry); bundles "
                            "trained on accelerator traces do not read TVM candidates")
        if state.get("version") != FORMAT_VERSION:
            raise UserError(f"{d}: ML2CostModel format v{state.get('version')!r}, this ml2tuner "
                            f"reads v{FORMAT_VERSION}")
        if (state.get("visible_width"), state.get("hidden_width")) != (VISIBLE_WIDTH,
                                                                       HIDDEN_WIDTH):
            raise UserError(f"{d}: feature widths differ from this ml2tuner's")
        name = state.get("data")
        # the data file must be a plain file of this folder, as recorded (no path escapes)
        if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
            raise UserError(f"{d}: manifest names a data file outside the bundle ({name!r})")
        data = d / name
        if not data.is_file():
            raise UserError(f"{d}: data file {name!r} is missing")
        if _sha256(data) != state.get("data_sha256"):
            raise UserError(f"{d}: {name} does not match the sha256 recorded in the manifest "
                            "(modified or corrupted)")
        groups, valid_rate = state.get("groups"), state.get("valid_rate")
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups) \
                or not isinstance(valid_rate, (int, float)) or isinstance(valid_rate, bool):
            raise UserError(f"{d}: malformed {STATE_KEY!r} entry (groups, valid_rate)")
        try:
            with np.load(data, allow_pickle=False) as z:
                vis, hid = z["vis"], z["hid"]
                valid, cost, group = z["valid"], z["cost"], z["group"]
        except (OSError, ValueError, KeyError, EOFError) as e:
            raise UserError(f"{d}: unreadable {name} ({e})") from None
        n = len(valid)
        if vis.shape != (n, VISIBLE_WIDTH) or hid.shape != (n, HIDDEN_WIDTH) \
                or cost.shape != (n,) or group.shape != (n,):
            raise UserError(f"{d}: {name} arrays do not have the recorded shapes")
        self.vis, self.hid, self.valid, self.cost, self.group = vis, hid, valid, cost, group
        self.groups = list(groups)
        self.valid_rate = float(valid_rate)
        self.models = {"V": None, "P": None, "A": None}
        if (manifest.get("models") or {}).get("p") is None:
            self.fit()              # untrained bundle: V (if any data) from the stored rows
            return
        b = load_bundle(d)          # checks format, schema, sha256 and feature names
        if b.visible != visible_names() or b.hidden_names != hidden_names() \
                or b.descriptor_names:
            raise UserError(f"{d}: the bundle's features are not this ml2tuner's TVM features")
        self.models = {"V": b.v, "P": b.p, "A": b.a}


def _throughput(speed) -> np.ndarray:
    """best cost / predicted cost from a predicted speed (minus log relative cost)."""
    return np.exp(np.clip(speed, -30.0, 30.0))


def _zscore(x) -> np.ndarray:
    x = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=np.nan, posinf=np.nan, neginf=np.nan)
    if len(x) == 0 or np.all(np.isnan(x)):
        return np.zeros(len(x))
    x = np.where(np.isnan(x), np.nanmean(x), x)
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros(len(x))


def _spearman(a, b) -> float | None:
    from scipy.stats import spearmanr
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return None
    return float(spearmanr(a[ok], b[ok]).correlation)


def _sha256(path) -> str:
    import hashlib
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@derived_object
class ML2CostModel(PyCostModel):
    """MetaSchedule cost model running ML2Tuner's V -> P -> A cascade (see module doc)."""

    def __init__(self, *, seed: int = 0, shortlist: int | None = 32, v_threshold: float = 0.5,
                 warmup: int = 8, n_jobs: int = 1, model_factory=make_models,
                 model_dir=None, v_min_failures: int = 3):
        self.core = ML2Models(seed=seed, shortlist=shortlist, v_threshold=v_threshold,
                              warmup=warmup, n_jobs=n_jobs, model_factory=model_factory,
                              v_min_failures=v_min_failures)
        if model_dir is not None:
            self.core.load(model_dir)
        self.last = None     # the last predict()'s details (p_valid, p, a, shortlist, score)
        self.skipped_timeout_batches = 0
        self.timing = {"predict_s": 0.0, "predict_calls": 0, "predicted": 0, "update_s": 0.0,
                       "update_calls": 0}

    def load(self, path: str) -> None:
        self.core.load(path)

    def save(self, path: str) -> None:
        self.core.save(path)

    def update(self, context, candidates, results) -> None:
        candidates, results = list(candidates), list(results)
        if len(candidates) != len(results):
            raise ValueError("update(): candidates and results differ in length")
        if not candidates:
            return
        if all_builds_timed_out(results):    # the builder is broken, not the candidates
            self.skipped_timeout_batches += 1
            warn_build_timeouts(len(results))
            return
        t0 = time.perf_counter()
        valid, cost = [], []
        for r in results:
            secs = [float(s) for s in r.run_secs] if r.run_secs else []
            st, _ = classify(None, r.error_msg, secs)
            ok = st == Status.OK
            valid.append(ok)
            cost.append(float(np.median(secs)) if ok else np.nan)
        vis = visible_matrix(candidates)
        hid = hidden_matrix(context, candidates)
        self.core.add(shash2hex(context.mod), vis, hid, valid, cost)
        self.core.fit()
        self.timing["update_s"] += time.perf_counter() - t0
        self.timing["update_calls"] += 1

    def _predict(self, context, candidates, mode: str) -> np.ndarray:
        candidates = list(candidates)
        if not candidates:
            return np.empty(0)
        t0 = time.perf_counter()
        vis = visible_matrix(candidates)
        out = self.core.score(vis, lambda idx: hidden_matrix(context,
                                                             [candidates[i] for i in idx]),
                              mode=mode)
        self.last = out
        self.timing["predict_s"] += time.perf_counter() - t0
        self.timing["predict_calls"] += 1
        self.timing["predicted"] += len(candidates)
        return np.asarray(out["score"], dtype=np.float64)

    def predict(self, context, candidates) -> np.ndarray:
        return self._predict(context, candidates, "cascade")

    def predict_detail(self, context, candidates, mode: str = "cascade") -> dict:
        self._predict(context, candidates, mode)
        return self.last

    def select(self, context, candidates, n: int) -> dict:
        """ML2Tuner's (alpha+1)·N -> V -> A selection of n among `candidates` (see
        ML2Models.select); hidden features are extracted for the V survivors only."""
        candidates = list(candidates)
        t0 = time.perf_counter()
        vis = visible_matrix(candidates)
        out = self.core.select(vis, lambda idx: hidden_matrix(context,
                                                              [candidates[i] for i in idx]), n)
        self.timing["select_s"] = self.timing.get("select_s", 0.0) + time.perf_counter() - t0
        return out

    def proposal_model(self, mode: str = "vp") -> "ProposalModel":
        """A cost model on the same data steering ML2SearchStrategy's evolution: V·P ("vp",
        visible features only) or V·A ("va", per-store features of every candidate)."""
        return ProposalModel(self, mode)


@derived_object
class ProposalModel(PyCostModel):
    """V·P scores of an ML2CostModel (no hidden features, no A): the proposal stage of
    ML2Tuner, used as the evolutionary search's fitness in `search.ML2SearchStrategy`.
    update() is a no-op: the ML2CostModel it reads is updated by the measure callback."""

    def __init__(self, owner, mode: str = "vp"):
        self.owner = owner
        self.mode = mode

    def load(self, path: str) -> None:
        self.owner.load(path)

    def save(self, path: str) -> None:
        self.owner.save(path)

    def update(self, context, candidates, results) -> None:
        return None

    def predict(self, context, candidates) -> np.ndarray:
        return self.owner._predict(context, candidates, self.mode)
