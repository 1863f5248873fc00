"""Small Relax models built with `tvm.relax.frontend.nn`, for whole-model tuning on a CPU.

    resnet   a ResNet-18-style stack: a 3x3 stem convolution and two basic blocks (the second
             downsamples with stride 2 and a 1x1 projection shortcut, as in ResNet-18's
             layer2), global average pooling and a linear classifier. Input 1x3x32x32.
             BatchNorm is left out: at inference it folds into the convolution's bias.
    mlp      a three-layer perceptron (256 -> 512 -> 256 -> 10, ReLU), batch 16.

`build_model(name, seed)` returns a `RelaxModel`: the IRModule with the weights bound as
constants (seeded random values; tuning does not depend on them) and the input shape. Binding
the weights lets FoldConstant remove the weight transposes, so the tuning tasks are exactly the
fused compute kernels, as in a deployed model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UserError

MODELS = {
    "resnet": "ResNet-18-style conv block stack (stem + 2 basic blocks, 1x3x32x32, float32)",
    "mlp": "MLP 256-512-256-10 with ReLU (batch 16, float32)",
}


@dataclass
class RelaxModel:
    name: str
    mod: object                  # tvm.IRModule with one Relax function "main", weights bound
    input_shape: tuple
    dtype: str = "float32"

    def random_input(self, seed: int = 0) -> np.ndarray:
        return np.random.default_rng(seed).standard_normal(self.input_shape).astype(self.dtype)


def _nn_classes():
    from tvm.relax.frontend import nn

    class ConvReLU(nn.Module):
        def __init__(self, ci, co, stride=1):
            self.conv = nn.Conv2D(ci, co, 3, stride=stride, padding=1, bias=True)

        def forward(self, x):
            return nn.op.relu(self.conv(x))

    class BasicBlock(nn.Module):
        """conv3x3-ReLU-conv3x3 plus the shortcut, then ReLU (ResNet-18's block)."""

        def __init__(self, ci, co, stride=1):
            self.conv1 = nn.Conv2D(ci, co, 3, stride=stride, padding=1, bias=True)
            self.conv2 = nn.Conv2D(co, co, 3, stride=1, padding=1, bias=True)
            self.proj = (nn.Conv2D(ci, co, 1, stride=stride, padding=0, bias=True)
                         if stride != 1 or ci != co else None)

        def forward(self, x):
            y = self.conv2(nn.op.relu(self.conv1(x)))
            short = x if self.proj is None else self.proj(x)
            return nn.op.relu(y + short)

    class ResNetStack(nn.Module):
        def __init__(self, width=16, classes=10, hw=32):
            self.stem = ConvReLU(3, width)
            self.block1 = BasicBlock(width, width)
            self.block2 = BasicBlock(width, 2 * width, stride=2)
            self.fc = nn.Linear(2 * width, classes)
            self.pool_scale = 1.0 / float((hw // 2) ** 2)

        def forward(self, x):
            y = self.block2(self.block1(self.stem(x)))
            y = nn.op.sum(y, axis=[2, 3]) * self.pool_scale      # global average pooling
            return self.fc(y)

    class MLP(nn.Module):
        def __init__(self, sizes=(256, 512, 256, 10)):
            self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])])

        def forward(self, x):
            for i, layer in enumerate(self.layers):
                x = layer(x)
                if i < len(self.layers) - 1:
                    x = nn.op.relu(x)
            return x

    return ResNetStack, MLP


def build_model(name: str, seed: int = 0) -> RelaxModel:
    """The named model as a Relax IRModule ("main"), weights bound as seeded constants."""
    if name not in MODELS:
        raise UserError(f"unknown model {name!r} (models: {', '.join(MODELS)})")
    from ._env import require_tvm
    tvm = require_tvm()
    from tvm import relax
    from tvm.relax.frontend import nn

    ResNetStack, MLP = _nn_classes()
    if name == "resnet":
        net, shape = ResNetStack(), (1, 3, 32, 32)
    else:
        net, shape = MLP(), (16, 256)
    mod, params = net.export_tvm(spec={"forward": {"x": nn.spec.Tensor(shape, "float32")}})
    rng = np.random.default_rng(seed)
    consts = {}
    for pname, p in params:
        dims = [int(s) for s in p.shape]
        scale = 1.0 / np.sqrt(max(1, int(np.prod(dims[1:])) if len(dims) > 1 else 1))
        consts[pname] = tvm.runtime.tensor(
            (rng.standard_normal(dims) * scale).astype(p.dtype))
    func = mod["forward"]
    mod = tvm.IRModule({"main": func.with_attr("global_symbol", "main")})
    mod = relax.transform.BindParams("main", consts)(mod)
    return RelaxModel(name, mod, shape)
