"""Workload specs -> TensorIR modules for MetaSchedule.

A spec is `kind:PARAM=value,...`, e.g. `matmul:M=128,N=128,K=128`. Kinds and parameters:

    matmul        M, N, K             C[M,N]   = A[M,K] . B[K,N]
    batch_matmul  B, M, N, K          C[b,M,N] = A[b,M,K] . B[b,K,N]
    dense         B, I, O             Y[B,O]   = X[B,I] . W[O,I]^T
    conv2d        N, H, W, CI, CO, KH, KW, stride (1), pad (0)    NCHW input, OIHW weights

Every kind also takes `dtype` (float32). Parsing needs no TVM; `build_module` imports it.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError

_KINDS = {
    # kind: (required params, optional params with defaults)
    "matmul": (("M", "N", "K"), {}),
    "batch_matmul": (("B", "M", "N", "K"), {}),
    "dense": (("B", "I", "O"), {}),
    "conv2d": (("N", "H", "W", "CI", "CO", "KH", "KW"), {"stride": 1, "pad": 0}),
}
# the accelerator commands' names for the same layers (ml2tuner.accel.workloads)
_ACCEL_ONLY_KEYS = {"conv2d": ("IC", "OC", "K"), "dense": ("N", "IC", "OC")}
MAX_DIM = 2 ** 31 - 1
_DTYPES = ("float32", "float64", "float16", "int32", "int8")


@dataclass(frozen=True)
class Workload:
    kind: str
    params: dict
    dtype: str = "float32"

    @property
    def name(self) -> str:
        """Canonical spec string (parameters in declaration order, defaults written out)."""
        req, opt = _KINDS[self.kind]
        items = [f"{k}={self.params[k]}" for k in (*req, *opt)]
        if self.dtype != "float32":
            items.append(f"dtype={self.dtype}")
        return f"{self.kind}:" + ",".join(items)

    @property
    def task_name(self) -> str:
        """An identifier safe for file names and TVM task names."""
        return self.name.replace(":", "_").replace(",", "_").replace("=", "")

    @property
    def flops(self) -> float:
        p = self.params
        if self.kind == "matmul":
            return 2.0 * p["M"] * p["N"] * p["K"]
        if self.kind == "batch_matmul":
            return 2.0 * p["B"] * p["M"] * p["N"] * p["K"]
        if self.kind == "dense":
            return 2.0 * p["B"] * p["I"] * p["O"]
        oh, ow = conv2d_out_hw(p)
        return 2.0 * p["N"] * p["CO"] * oh * ow * p["CI"] * p["KH"] * p["KW"]


def conv2d_out_hw(p: dict) -> tuple[int, int]:
    oh = (p["H"] + 2 * p["pad"] - p["KH"]) // p["stride"] + 1
    ow = (p["W"] + 2 * p["pad"] - p["KW"]) // p["stride"] + 1
    return oh, ow


def parse_spec(spec: str) -> Workload:
    """Parse `kind:P=v,...`; raises UserError naming the problem."""
    if not isinstance(spec, str) or ":" not in spec:
        hint = " (resnet18.* layers are for the accelerator commands: tune, space, ...)" \
            if str(spec).strip().lower().startswith("resnet18.") else ""
        raise UserError(f"workload spec {spec!r}: expected 'kind:PARAM=value,...', "
                        f"e.g. 'matmul:M=128,N=128,K=128' (kinds: {', '.join(_KINDS)}){hint}")
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    if kind not in _KINDS:
        raise UserError(f"workload spec {spec!r}: unknown kind {kind!r} "
                        f"(kinds: {', '.join(_KINDS)})")
    req, opt = _KINDS[kind]
    params: dict = dict(opt)
    dtype = "float32"
    seen = set()
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, val = item.partition("=")
        key, val = key.strip(), val.strip()
        if not eq or not key:
            raise UserError(f"workload spec {spec!r}: {item!r} is not PARAM=value")
        if key in seen:
            raise UserError(f"workload spec {spec!r}: {key} given twice")
        seen.add(key)
        if key == "dtype":
            if val not in _DTYPES:
                raise UserError(f"workload spec {spec!r}: dtype {val!r} not one of "
                                f"{', '.join(_DTYPES)}")
            dtype = val
            continue
        if key not in req and key not in opt and key in _ACCEL_ONLY_KEYS.get(kind, ()):
            raise UserError(f"workload spec {spec!r}: {key} is the accelerator commands' name; "
                            f"tvm-tune's {kind} parameters are {', '.join((*req, *opt))}")
        if key not in req and key not in opt:
            raise UserError(f"workload spec {spec!r}: unknown parameter {key!r} for {kind} "
                            f"(parameters: {', '.join((*req, *opt, 'dtype'))})")
        try:
            iv = int(val)
        except ValueError:
            raise UserError(f"workload spec {spec!r}: {key}={val!r} is not an integer") from None
        if not (0 if key == "pad" else 1) <= iv <= MAX_DIM:
            raise UserError(f"workload spec {spec!r}: {key}={iv} out of range "
                            f"({0 if key == 'pad' else 1}..{MAX_DIM})")
        params[key] = iv
    missing = [k for k in req if k not in params]
    if missing:
        raise UserError(f"workload spec {spec!r}: missing {', '.join(missing)} "
                        f"(a {kind} needs {', '.join(req)})")
    w = Workload(kind, params, dtype)
    if kind == "conv2d" and min(conv2d_out_hw(params)) < 1:
        raise UserError(f"workload spec {spec!r}: the kernel does not fit the padded input")
    return w


def build_module(workload: Workload | str):
    """The workload as a TVM IRModule with one PrimFunc `main` (TensorIR, via te)."""
    from ._env import require_tvm
    tvm = require_tvm()
    from tvm import te

    w = parse_spec(workload) if isinstance(workload, str) else workload
    p, dt = w.params, w.dtype
    acc = dt  # accumulate in the input type (int8 would overflow, so widen it)
    if dt == "int8":
        acc = "int32"

    def cast(x):
        return x if acc == dt else x.astype(acc)

    if w.kind == "matmul":
        A = te.placeholder((p["M"], p["K"]), dt, name="A")
        B = te.placeholder((p["K"], p["N"]), dt, name="B")
        k = te.reduce_axis((0, p["K"]), name="k")
        C = te.compute((p["M"], p["N"]),
                       lambda i, j: te.sum(cast(A[i, k]) * cast(B[k, j]), axis=k), name="C")
        args = [A, B, C]
    elif w.kind == "batch_matmul":
        A = te.placeholder((p["B"], p["M"], p["K"]), dt, name="A")
        B = te.placeholder((p["B"], p["K"], p["N"]), dt, name="B")
        k = te.reduce_axis((0, p["K"]), name="k")
        C = te.compute((p["B"], p["M"], p["N"]),
                       lambda b, i, j: te.sum(cast(A[b, i, k]) * cast(B[b, k, j]), axis=k),
                       name="C")
        args = [A, B, C]
    elif w.kind == "dense":
        X = te.placeholder((p["B"], p["I"]), dt, name="X")
        W = te.placeholder((p["O"], p["I"]), dt, name="W")
        k = te.reduce_axis((0, p["I"]), name="k")
        Y = te.compute((p["B"], p["O"]),
                       lambda b, o: te.sum(cast(X[b, k]) * cast(W[o, k]), axis=k), name="Y")
        args = [X, W, Y]
    else:  # conv2d, NCHW / OIHW
        n, h, wd, ci, co, kh, kw = (p[x] for x in ("N", "H", "W", "CI", "CO", "KH", "KW"))
        s, pad = p["stride"], p["pad"]
        oh, ow = conv2d_out_hw(p)
        I = te.placeholder((n, ci, h, wd), dt, name="I")
        Wt = te.placeholder((co, ci, kh, kw), dt, name="W")
        if pad:
            P = te.compute(
                (n, ci, h + 2 * pad, wd + 2 * pad),
                lambda b, c, y, x: tvm.tirx.if_then_else(
                    tvm.tirx.all(y >= pad, y < h + pad, x >= pad, x < wd + pad),
                    I[b, c, y - pad, x - pad], tvm.tirx.const(0, dt)),
                name="pad")
        else:
            P = I
        rc = te.reduce_axis((0, ci), name="rc")
        ry = te.reduce_axis((0, kh), name="ry")
        rx = te.reduce_axis((0, kw), name="rx")
        O = te.compute(
            (n, co, oh, ow),
            lambda b, f, y, x: te.sum(cast(P[b, rc, y * s + ry, x * s + rx]) * cast(Wt[f, rc, ry, rx]),
                                      axis=[rc, ry, rx]),
            name="conv")
        args = [I, Wt, O]
    func = te.create_prim_func(args)
    return tvm.IRModule({"main": func})
