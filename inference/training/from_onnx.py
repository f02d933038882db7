"""Start training from an exported .onnx file instead of a torch checkpoint.

Export folds every BatchNorm into the convolution before it, so the file holds one
kernel and bias per ConvBnAct. Loading gives the conv that kernel and makes its
BatchNorm the identity plus the folded bias (mean 0, variance 1 - eps, scale 1,
shift = bias): the network then computes exactly what the file computes. Fine-tuning
must keep those BatchNorms frozen (``freeze_batchnorm``), since batch statistics
would undo the identity; their scale and shift still learn.
"""

from __future__ import annotations

from pathlib import Path

import onnx
import torch
from onnx import numpy_helper
from torch import nn


def module_path(node_name: str) -> str:
    """'/stage2/stage2.1/cv1/conv/Conv' -> 'stage2.1.cv1.conv' (torch.onnx scope names)."""
    parts: list[str] = []
    previous = ""
    for segment in node_name.strip("/").split("/")[:-1]:
        # a child of a Sequential or ModuleList is scoped as '<parent>.<index>'
        parts.append(segment[len(previous) + 1 :] if previous and segment.startswith(previous + ".") else segment)
        previous = segment
    return ".".join(parts)


def load_onnx_weights(model: nn.Module, path: Path) -> int:
    """Copies every Conv of the file into `model`; returns how many. Raises on any mismatch."""
    proto = onnx.load(str(path))
    weights = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    modules = dict(model.named_modules())
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    expected = [name for name, m in modules.items() if isinstance(m, nn.Conv2d)]
    loaded = set()
    with torch.no_grad():
        for node in convs:
            path_ = module_path(node.name)
            conv = modules.get(path_)
            if not isinstance(conv, nn.Conv2d):
                raise ValueError(f"{path}: Conv node {node.name} has no matching Conv2d ({path_})")
            kernel = torch.from_numpy(weights[node.input[1]].copy())
            bias = torch.from_numpy(weights[node.input[2]].copy()) if len(node.input) > 2 else torch.zeros(kernel.shape[0])
            if kernel.shape != conv.weight.shape:
                raise ValueError(f"{path}: {path_} kernel {tuple(kernel.shape)} != {tuple(conv.weight.shape)}")
            conv.weight.copy_(kernel)
            if conv.bias is not None:
                conv.bias.copy_(bias)
            else:
                bn = modules[path_.rsplit(".", 1)[0] + ".bn"]
                assert isinstance(bn, nn.BatchNorm2d)
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
                bn.weight.fill_(1.0)
                bn.bias.copy_(bias)
            loaded.add(path_)
    missing = sorted(set(expected) - loaded)
    if missing:
        raise ValueError(f"{path}: no weights for {missing}")
    return len(loaded)


def freeze_batchnorm(model: nn.Module) -> None:
    """Normalise with the stored statistics, not the batch's (call after every model.train())."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
