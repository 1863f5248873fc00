"""Model bundles: trained V, P and A on disk, without pickle.

A bundle is a directory holding XGBoost's own JSON model files (`v.json`, `p.json`, `a.json`)
and `manifest.json`:

    {"format": "ml2tuner-model-bundle", "schema": 1,
     "features": {"visible": [knob names], "descriptor": [task descriptor names],
                  "hidden": [hidden feature names], "fill_value": null},
     "models": {"v": {"file", "sha256", "estimator", "params", "n_features", "threshold",
                      "constant"}, "p": {...}, "a": {...} or null},
     "traces": [{"path", "sha256", "workload", "accel", ...}], "metrics": {...}, ...}

V and P read `visible + descriptor` columns, A reads `visible + descriptor + hidden`. Loading
refuses (with a `UserError`) a bundle of another format or schema, a model file whose sha256
differs from the manifest's (tampered or corrupted), and a model whose embedded feature names
(stored in the booster's own attributes) or feature count disagree with the manifest. The hashes
catch accidents and mismatched files, not a forger who rewrites the manifest too. XGBoost
parses its JSON itself: nothing in a bundle can run code on load.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import xgboost as xgb

from ..data.records import feature_number
from ..errors import UserError
from .models import AdvancedModel, PerformanceModel, ValidityModel

FORMAT = "ml2tuner-model-bundle"
SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
_ESTIMATORS = {"ValidityModel": ValidityModel, "PerformanceModel": PerformanceModel,
               "AdvancedModel": AdvancedModel}
_FEATURE_ATTR = "ml2tuner_features"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _input_names(features: dict, which: str) -> list[str]:
    names = list(features["visible"]) + list(features["descriptor"])
    return names + list(features["hidden"]) if which == "a" else names


def _jsonable(d: dict) -> dict:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in d.items()}


# ----- saving ------------------------------------------------------------------------------------
def save_bundle(directory, v, p, a, meta: dict) -> dict:
    """Write fitted V, P and A (A may be None) and the manifest; return the manifest.

    `meta` must hold `features` ({"visible", "descriptor", "hidden"}); it may hold `traces`,
    `metrics`, `v_threshold` (default: V's own `threshold`) and anything else JSON-able, which
    goes into the manifest as is. The manifest is written last, so a bundle cut short by a crash
    has none and is refused on load.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    meta = dict(meta)
    feats = meta.pop("features", None)
    if not isinstance(feats, dict) or not all(k in feats for k in ("visible", "descriptor",
                                                                    "hidden")):
        raise ValueError("meta['features'] must give 'visible', 'descriptor' and 'hidden' names")
    feats = {k: [str(x) for x in feats[k]] for k in ("visible", "descriptor", "hidden")}
    feats["fill_value"] = None          # NaN: XGBoost's missing value
    threshold = float(meta.pop("v_threshold", getattr(v, "threshold", 0.5)))
    (d / MANIFEST).unlink(missing_ok=True)     # invalid until the new manifest is in place
    models = {}
    for key, est in (("v", v), ("p", p), ("a", a)):
        path = d / f"{key}.json"
        if est is None:
            path.unlink(missing_ok=True)
            models[key] = None
            continue
        names = _input_names(feats, key)
        entry = {"estimator": type(est).__name__, "params": _jsonable(est.get_params()),
                 "n_features": len(names), "file": None, "sha256": None}
        booster = getattr(est, "booster_", None)
        if booster is None:           # V trained on one class: a constant, no trees
            path.unlink(missing_ok=True)
        else:
            if booster.num_features() != len(names):
                raise ValueError(f"model {key} has {booster.num_features()} inputs, the feature "
                                 f"names give {len(names)}")
            booster = booster.copy()
            booster.set_attr(**{_FEATURE_ATTR: json.dumps(names)})
            booster.save_model(str(path))
            entry.update(file=path.name, sha256=_sha256(path))
        if key == "v":
            const = getattr(est, "constant_", None)
            entry.update(threshold=threshold, constant=None if const is None else float(const))
        models[key] = entry
    if models["v"] is None or models["p"] is None:
        raise ValueError("a bundle needs Model V and Model P")
    from .. import __version__
    manifest = {"format": FORMAT, "schema": SCHEMA_VERSION, "tool": f"ml2tuner {__version__}",
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "features": feats, "models": models, **meta}
    tmp = d / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, default=float) + "\n", encoding="utf-8")
    tmp.replace(d / MANIFEST)
    return manifest


# ----- loading -----------------------------------------------------------------------------------
def _refuse(d: Path, why: str):
    raise UserError(f"model bundle {d}: {why}")


def _load_model(d: Path, key: str, entry: dict, feats: dict):
    if not isinstance(entry, dict) or entry.get("estimator") not in _ESTIMATORS:
        _refuse(d, f"manifest entry of model {key} is malformed")
    names = _input_names(feats, key)
    try:
        est = _ESTIMATORS[entry["estimator"]](**entry.get("params", {}))
    except TypeError as e:
        _refuse(d, f"model {key}: unknown estimator parameters ({e})")
    est.n_features_in_ = len(names)
    if key == "v":
        est.classes_ = np.array([0, 1])
        thr, const = entry.get("threshold", est.threshold), entry.get("constant")
        if not _is_num(thr) or not 0.0 <= thr <= 1.0:
            _refuse(d, f"model v: threshold must be a number in [0, 1], got {thr!r}")
        if const is not None and (not _is_num(const) or not 0.0 <= const <= 1.0):
            _refuse(d, f"model v: constant must be null or a number in [0, 1], got {const!r}")
        est.threshold = float(thr)
        est.constant_ = const
    if entry.get("file") is None:
        if key != "v" or est.constant_ is None:
            _refuse(d, f"model {key} has neither a model file nor a constant")
        est.booster_ = None
        return est
    if not isinstance(entry["file"], str):
        _refuse(d, f"model {key}: 'file' must be a file name")
    path = d / entry["file"]
    if path.name != entry["file"] or entry["file"] in (".", "..") or not path.is_file():
        _refuse(d, f"model file {entry['file']!r} is missing")
    if _sha256(path) != entry.get("sha256"):
        _refuse(d, f"{path.name} does not match the sha256 recorded in the manifest (modified "
                   "or corrupted); retrain it with `ml2tuner train`")
    with open(path, "rb") as f:
        if f.read(1) != b"{":       # bundles hold XGBoost's JSON format only, never binary
            _refuse(d, f"{path.name} is not an XGBoost JSON model")
    booster = xgb.Booster()
    try:
        booster.load_model(str(path))
    except xgb.core.XGBoostError as e:
        _refuse(d, f"{path.name} is not a valid XGBoost model ({str(e).splitlines()[0][:120]})")
    try:
        embedded = json.loads(booster.attr(_FEATURE_ATTR) or "null")
    except ValueError:
        embedded = None
    if embedded != names or booster.num_features() != len(names):
        _refuse(d, f"{path.name} was trained on other features than the manifest lists "
                   "(incompatible bundle)")
    est.booster_ = booster
    return est


def load_bundle(directory) -> "Bundle":
    d = Path(directory)
    if not (d / MANIFEST).is_file():
        _refuse(d, f"no {MANIFEST} (not a model bundle, or an unfinished one)")
    from ..validate import read_json_file
    try:
        m = read_json_file(d / MANIFEST, "manifest")
    except UserError as e:
        _refuse(d, f"unreadable {MANIFEST} ({e})")
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        _refuse(d, f"{MANIFEST} is not an ml2tuner model bundle manifest")
    if m.get("schema") != SCHEMA_VERSION:
        _refuse(d, f"bundle schema {m.get('schema')!r}; this ml2tuner reads schema "
                   f"{SCHEMA_VERSION} (retrain it with `ml2tuner train`)")
    feats = m.get("features")
    if not isinstance(feats, dict) or not all(
            isinstance(feats.get(k), list) and all(isinstance(x, str) for x in feats[k])
            for k in ("visible", "descriptor", "hidden")):
        _refuse(d, "manifest 'features' must list visible, descriptor and hidden names")
    models = m.get("models") or {}
    if not isinstance(models, dict):
        _refuse(d, "manifest 'models' must be a JSON object")
    if not models.get("v") or not models.get("p"):
        _refuse(d, "manifest lacks Model V or Model P")
    for key in ("v", "p", "a"):
        entry = models.get(key)
        if entry and not isinstance(entry.get("params", {}) if isinstance(entry, dict) else None,
                                    dict):
            _refuse(d, f"manifest entry of model {key} is malformed")
    v = _load_model(d, "v", models["v"], feats)
    p = _load_model(d, "p", models["p"], feats)
    a = _load_model(d, "a", models["a"], feats) if models.get("a") else None
    return Bundle(d, m, v, p, a)


# ----- predicting for a task -------------------------------------------------------------------
class Bundle:
    """Loaded V, P, A (`.v`, `.p`, `.a`: scikit-learn-compatible estimators on the bundle's
    feature layout) and the manifest. `for_task(space, descriptor)` adapts them to a space."""

    def __init__(self, path, manifest: dict, v, p, a):
        self.path, self.manifest = Path(path), manifest
        self.v, self.p, self.a = v, p, a
        f = manifest["features"]
        self.visible: list[str] = list(f["visible"])
        self.descriptor_names: list[str] = list(f["descriptor"])
        self.hidden_names: list[str] = list(f["hidden"])

    @property
    def threshold(self) -> float:
        return float(self.v.threshold)

    def for_task(self, space, descriptor: dict | None) -> "TaskModels":
        return TaskModels(self, space, descriptor or {})

    # convenience: predictions by index of a space
    def predict_validity(self, space, descriptor, indices) -> np.ndarray:
        t = self.for_task(space, descriptor)
        return t.v.predict_proba(space.features(indices))[:, 1]

    def predict_log_cost(self, space, descriptor, indices) -> np.ndarray:
        t = self.for_task(space, descriptor)
        return t.p.predict_log(space.features(indices))


class TaskModels:
    """The bundle's models bound to one space and task descriptor.

    `v`, `p` and `a` take the matrices ML2Tuner builds for its own models (`space.features`,
    and for A those columns followed by the hidden features in `bundle.hidden_names` order) and
    map them onto the bundle's layout: knobs by name (a knob the space lacks -> NaN; a knob the
    bundle never saw is ignored and listed in `unknown_knobs`) then the descriptor columns.
    """

    def __init__(self, bundle: Bundle, space, descriptor: dict):
        self.bundle, self.space = bundle, space
        pos = {n: j for j, n in enumerate(space.names)}
        self._cols = np.array([pos.get(n, -1) for n in bundle.visible], dtype=np.int64)
        self.unknown_knobs = [n for n in space.names if n not in set(bundle.visible)]
        self.missing_descriptors = [k for k in bundle.descriptor_names if k not in descriptor]
        self._desc = np.array([feature_number(descriptor.get(k)) for k in bundle.descriptor_names],
                              dtype=np.float64)
        self.v = _Adapter(self, bundle.v, "v")
        self.p = _Adapter(self, bundle.p, "p")
        self.a = _Adapter(self, bundle.a, "a") if bundle.a is not None else None

    def features(self, X) -> np.ndarray:
        """Space-layout visible features -> bundle layout (visible by name + descriptors)."""
        X = np.asarray(X, dtype=np.float64).reshape(-1, len(self.space.names))
        out = np.full((X.shape[0], len(self._cols)), np.nan)
        have = self._cols >= 0
        out[:, have] = X[:, self._cols[have]]
        return np.hstack([out, np.broadcast_to(self._desc, (X.shape[0], self._desc.size))])

    def a_features(self, XH) -> np.ndarray:
        XH = np.asarray(XH, dtype=np.float64)
        k = len(self.space.names)
        return np.hstack([self.features(XH[:, :k]), XH[:, k:]])


class _Adapter:
    """predict_proba / predict_log / predict of one bundle model on space-layout inputs."""

    def __init__(self, task: TaskModels, est, which: str):
        self.task, self.est, self.which = task, est, which
        self.threshold = getattr(est, "threshold", None)

    def _x(self, X):
        return self.task.a_features(X) if self.which == "a" else self.task.features(X)

    def predict_proba(self, X):
        return self.est.predict_proba(self._x(X))

    def predict_log(self, X):
        return self.est.predict_log(self._x(X))

    def predict(self, X):
        return self.est.predict(self._x(X))


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


__all__ = ["Bundle", "TaskModels", "save_bundle", "load_bundle", "FORMAT", "SCHEMA_VERSION"]
