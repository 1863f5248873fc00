"""`ml2tuner train` and `evaluate`: surrogate bundles trained offline from traces."""
from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ..offline import TOP_K, evaluate_bundle, leave_one_out, train, train_settings
from .common import emit


def cmd_train(a):
    from ..validate import check_bundle_dir
    if not 0.0 <= a.max_valid_drop < 1.0:
        raise UserError("--max-valid-drop must be in [0, 1)")
    check_bundle_dir(a.out, "--out")
    m = train(a.traces, a.out, seed=a.seed, max_valid_drop=a.max_valid_drop)
    out = Path(a.out)
    d = {"out": str(out), "traces": len(m["traces"]), **{k: m["training"][k] for k in
                                                          ("rows", "valid_rows", "seconds")},
         "v_threshold": m["models"]["v"]["threshold"],
         "oof_auc": m["training"].get("oof_auc"),
         "files": {f.name: f.stat().st_size for f in sorted(out.iterdir()) if f.is_file()},
         "train_metrics": m["metrics"]["train"]}

    def human(d):
        size = sum(d["files"].values()) / 1e6
        print(f"trained on {d['traces']} traces ({d['rows']} configs, {d['valid_rows']} valid) "
              f"in {d['seconds']:.1f} s -> {d['out']} ({size:.2f} MB)")
        oof = f", out-of-fold AUC {d['oof_auc']:.3f}" if d["oof_auc"] is not None else ""
        print(f"  V threshold {d['v_threshold']:.3f}{oof}")
    emit(d, a.json, human)


def cmd_evaluate(a):
    proto = a.protocol
    if proto == "none":
        if not a.model:
            raise UserError("--model is required unless a --protocol retrains the models")
        d = evaluate_bundle(a.model, a.traces)
    else:
        kw = {}
        if a.model:
            from ..surrogates.bundle import load_bundle
            kw = train_settings(load_bundle(a.model).manifest)
        d = leave_one_out(a.traces, by={"leave-one-layer-out": "layer",
                                        "leave-one-accel-out": "accel"}[proto], **kw)

    def show(m, label):
        v, p, aa = m["v"], m["p"], m["a"]
        fmt = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
        line = (f"{label:24s} V auc {fmt(v['auc'])} caught {fmt(v['invalid_caught'])} "
                f"dropped {fmt(v['valid_dropped'])}")
        for name, s in (("P", p), ("A", aa)):
            if s:
                line += (f" | {name} rmse {fmt(s['rmse'])} tau {fmt(s['kendall_tau'])} "
                         f"top{TOP_K} {fmt(s[f'top{TOP_K}_recall'])}")
        print(line + f" | A/P {fmt(m['rmse_ratio_a_p'])}")

    def human(d):
        if "folds" in d:
            for fo in d["folds"]:
                show(fo, fo["held_out"])
            show(d["mean"], f"mean ({d['protocol']})")
        else:
            show(d, "all traces")
    emit(d, a.json, human)


def register(sub):
    """Add `train` and `evaluate` to the `ml2tuner` subparsers."""
    from .args import fraction_arg, seed_arg
    p = sub.add_parser("train", help="train V, P and A offline from traces into a model bundle")
    p.add_argument("--traces", nargs="+", required=True, help="trace files (.jsonl[.gz])")
    p.add_argument("--out", required=True, help="bundle directory, e.g. models/NAME")
    p.add_argument("--seed", type=seed_arg, default=0)
    p.add_argument("--max-valid-drop", type=fraction_arg, default=0.02,
                   help="V's threshold drops at most this share of valid configs (out of fold)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="metrics of a model bundle on traces")
    p.add_argument("--model", help="bundle directory (with a protocol: its training settings)")
    p.add_argument("--traces", nargs="+", required=True, help="trace files (.jsonl[.gz])")
    p.add_argument("--protocol", default="none",
                   choices=("none", "leave-one-layer-out", "leave-one-accel-out"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)
