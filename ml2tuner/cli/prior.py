"""`ml2tuner prior`: the Gaussian-copula initial design for a new task."""
from __future__ import annotations

from ..errors import UserError
from ..transfer import QUANTILE, GCPrior, budget_estimate
from .common import emit


def cmd_prior(a):
    from ..accel.measurer import AccelMeasurer
    from ..data.descriptors import task_descriptor
    if a.n < 1:
        raise UserError("-n must be >= 1")
    m = AccelMeasurer(a.accel, a.workload)
    validity = None
    if a.model:
        from ..surrogates.bundle import load_bundle
        validity = load_bundle(a.model)
    res = GCPrior(a.traces, a.quantile).generate(m.space, task_descriptor(m), a.n, a.seed,
                                                 validity, rank=a.rank)
    d = {"accel": m.hw.name, "workload": m.wl.label, "size": len(m.space),
         "indices": res.indices, "configs": [m.space.index_to_config(i) for i in res.indices],
         "n_generated": res.n_generated, "n_outside": res.n_outside,
         "n_rejected_by_v": res.n_rejected, "n_unique": res.n_unique,
         "budget_estimate": budget_estimate(len(m.space), res.n_unique, a.p)
         if res.n_unique else None, "p": a.p}

    def human(d):
        print(f"{d['workload']} on {d['accel']}: {d['n_unique']} distinct configurations "
              f"generated ({d['n_outside']} samples outside the space, "
              f"{d['n_rejected_by_v']} rejected by V); budget estimate {d['budget_estimate']} "
              f"(p = {d['p']})")
        for i, c in zip(d["indices"], d["configs"]):
            print(f"  {i:6d}  {c}")
    emit(d, a.json, human)


def register(sub):
    """Add `prior` to the `ml2tuner` subparsers."""
    from .args import positive_int_arg, probability_arg, seed_arg
    p = sub.add_parser("prior", help="Gaussian-copula initial design for a new task, from "
                                     "source traces")
    p.add_argument("--traces", nargs="+", required=True, help="source traces (.jsonl[.gz])")
    p.add_argument("--accel", default="vta-1x16")
    p.add_argument("--workload", default="resnet18.C2")
    p.add_argument("-n", type=positive_int_arg, default=10,
                   help="configurations to propose (default 10)")
    p.add_argument("--model", help="bundle whose Model V drops predicted-invalid samples")
    p.add_argument("--quantile", type=probability_arg, default=QUANTILE)
    p.add_argument("--rank", default="performance", choices=("performance", "frequency"))
    p.add_argument("--p", type=probability_arg, default=0.9, help="budget estimate confidence")
    p.add_argument("--seed", type=seed_arg, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_prior)
