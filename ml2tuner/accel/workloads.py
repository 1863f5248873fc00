"""Workloads: conv2d and dense layers, by name (ResNet-18 on VTA) or by spec string.

    resnet18.C2 ... resnet18.C11
    conv2d:H=14,W=14,IC=256,OC=256,K=3,pad=1,stride=1[,N=1]
    dense:N=1,IC=1024,OC=1024
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import UserError

# ResNet-18 layers as deployed on VTA (H, W, IC, OC, K, pad, stride); batch 1.
RESNET18 = {
    "C2": (56, 56, 64, 64, 3, 1, 1), "C3": (56, 56, 64, 128, 3, 1, 2),
    "C4": (56, 56, 64, 128, 1, 0, 2), "C5": (28, 28, 128, 128, 3, 1, 1),
    "C6": (28, 28, 128, 256, 3, 1, 2), "C7": (28, 28, 128, 256, 1, 0, 2),
    "C8": (14, 14, 256, 256, 3, 1, 1), "C9": (14, 14, 256, 512, 3, 1, 2),
    "C10": (14, 14, 256, 512, 1, 0, 2), "C11": (7, 7, 512, 512, 3, 1, 1),
}


@dataclass(frozen=True)
class Conv2D:
    """NCHW conv2d, square kernel K×K, symmetric padding; int8 data, int32 accumulation."""
    N: int
    H: int
    W: int
    IC: int
    OC: int
    K: int
    pad: int
    stride: int
    name: str = ""
    kind = "conv2d"

    def __post_init__(self):
        for f in ("N", "H", "W", "IC", "OC", "K", "stride"):
            if getattr(self, f) < 1:
                raise UserError(f"workload {self.label}: {f} must be >= 1")
        if self.pad < 0:
            raise UserError(f"workload {self.label}: pad must be >= 0")
        if self.OH < 1 or self.OW < 1:
            raise UserError(f"workload {self.label}: kernel larger than the padded input")
        for f in ("N", "H", "W", "IC", "OC", "K", "stride", "pad"):
            if getattr(self, f) > MAX_DIM:
                raise UserError(f"workload {self.label}: {f}={getattr(self, f)} exceeds {MAX_DIM}"
                                " (VTA addresses DRAM with 32 bits)")
        if self.pad > 15:
            raise UserError(f"workload {self.label}: pad {self.pad} exceeds VTA's 4-bit DMA pad field")

    @property
    def OH(self) -> int:
        return (self.H + 2 * self.pad - self.K) // self.stride + 1

    @property
    def OW(self) -> int:
        return (self.W + 2 * self.pad - self.K) // self.stride + 1

    @property
    def flops(self) -> float:
        return 2.0 * self.N * self.OC * self.OH * self.OW * self.K * self.K * self.IC

    @property
    def label(self) -> str:
        return self.name or self.spec()

    def spec(self) -> str:
        return (f"conv2d:N={self.N},H={self.H},W={self.W},IC={self.IC},OC={self.OC},"
                f"K={self.K},pad={self.pad},stride={self.stride}")

    def descriptor(self) -> dict:
        """Task descriptor numbers (for models that span tasks)."""
        return {f"wl_{k}": v for k, v in asdict(self).items() if k != "name"} | {
            "wl_dense": 0, "wl_log_flops": __import__("math").log2(self.flops)}


@dataclass(frozen=True)
class Dense(Conv2D):
    """Dense layer: a 1×1 conv2d on a 1×1 image with batch N (VTA's dense_packed template)."""
    kind = "dense"

    def spec(self) -> str:
        return f"dense:N={self.N},IC={self.IC},OC={self.OC}"

    def descriptor(self) -> dict:
        return super().descriptor() | {"wl_dense": 1}


MAX_DIM = 2 ** 31 - 1
# tvm-tune's names for the same layers (ml2tuner.tvm.workloads), to point a user at the right one
_TVM_ONLY_KEYS = {"CI": "IC", "CO": "OC", "KH": "K", "KW": "K", "B": "N", "I": "IC", "O": "OC",
                  "M": None, "dtype": None}
_TVM_ONLY_KINDS = ("matmul", "batch_matmul")

_CONV_KEYS = {"N": 1, "H": None, "W": None, "IC": None, "OC": None, "K": None, "pad": 0,
              "stride": 1}
_DENSE_KEYS = {"N": 1, "IC": None, "OC": None}


def _parse_kv(body: str, spec: str, keys: dict) -> dict:
    out, seen = dict(keys), set()
    for part in filter(None, (p.strip() for p in body.split(","))):
        if "=" not in part:
            raise UserError(f"workload {spec!r}: expected KEY=VALUE, got {part!r}")
        k, v = (s.strip() for s in part.split("=", 1))
        if k not in keys:
            if k in _TVM_ONLY_KEYS:
                alias = _TVM_ONLY_KEYS[k]
                raise UserError(f"workload {spec!r}: {k} is a tvm-tune parameter; this command's "
                                f"keys are {', '.join(keys)}" + (f" ({k} is {alias} here)"
                                                                 if alias else ""))
            raise UserError(f"workload {spec!r}: unknown key {k!r} (keys: {', '.join(keys)})")
        if k in seen:
            raise UserError(f"workload {spec!r}: {k} given twice")
        seen.add(k)
        try:
            out[k] = int(v)
        except ValueError:
            raise UserError(f"workload {spec!r}: {k} must be an integer, got {v!r}") from None
    missing = [k for k, v in out.items() if v is None]
    if missing:
        raise UserError(f"workload {spec!r}: missing {', '.join(missing)}")
    return out


def parse_workload(spec) -> Conv2D:
    if isinstance(spec, Conv2D):
        return spec
    s = str(spec).strip()
    if s.lower().startswith("resnet18."):
        layer = s.split(".", 1)[1].upper()
        if layer not in RESNET18:
            raise UserError(f"unknown ResNet-18 layer {s!r}; known: "
                            + ", ".join(f"resnet18.{k}" for k in RESNET18))
        H, W, IC, OC, K, pad, stride = RESNET18[layer]
        return Conv2D(1, H, W, IC, OC, K, pad, stride, name=f"resnet18.{layer}")
    kind, colon, body = s.partition(":")
    kind = kind.strip().lower()
    if colon and kind == "conv2d":
        kv = _parse_kv(body, s, _CONV_KEYS)
        return Conv2D(**kv)
    if colon and kind == "dense":
        kv = _parse_kv(body, s, _DENSE_KEYS)
        return Dense(N=kv["N"], H=1, W=1, IC=kv["IC"], OC=kv["OC"], K=1, pad=0, stride=1)
    if colon and kind in _TVM_ONLY_KINDS:
        raise UserError(f"workload {s!r}: {kind} is a tvm-tune workload; the accelerator runs "
                        "resnet18.C2..C11, conv2d:.. and dense:..")
    raise UserError(f"unknown workload {s!r}; use resnet18.C2..C11, "
                    "conv2d:H=..,W=..,IC=..,OC=..,K=..,pad=..,stride=.. or dense:N=..,IC=..,OC=..")


def resnet18_layers() -> list[str]:
    return [f"resnet18.{k}" for k in RESNET18]
