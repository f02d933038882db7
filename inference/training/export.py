"""Export a checkpoint to ONNX in the Ultralytics YOLOv8/YOLO11 detection layout.

Input ``images`` float32 [B,3,320,320] (RGB, /255, letterboxed with 114), output
``output0`` [B, 4+nc, A]: cx, cy, w, h in input pixels, then sigmoid class scores.
Batch is a dynamic axis. metadata_props are written as Ultralytics writes them:
values are Python ``str()`` reprs, not JSON.

With ``--verify`` the file is loaded by onnxruntime-node (from the repository's
node_modules) in a child ``node`` process: a zero tensor must give [1, 4+nc, A] and a
batch of 2 [2, 4+nc, A], and the output on a real letterboxed sample must match
torch's to 1e-3.

Usage:
    /usr/bin/python3 inference/training/export.py --weights inference/training/runs/train/best.pt \
        --version 1.0.0 --verify
    /usr/bin/python3 inference/training/export.py --untrained --version 0.0.1-untrained --verify
"""

from __future__ import annotations

import os

# OpenMP threads that spin while waiting burn a shared CPU for nothing: they must sleep.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import datetime
import json
from pathlib import Path

import numpy as np
import onnx
import torch

from data import letterbox
from evaluate import load_checkpoint, predict
from generate import CLASS_NAMES, render
from model import STRIDES, WeldDetector
from onnx_node import OnnxNodeModel

IMGSZ = 320
REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO_ROOT / "inference" / "models"

def python_repr_metadata(version: str, description: str, nc_names: list[str]) -> dict[str, str]:
    names = dict(enumerate(nc_names))
    return {
        "description": description,
        "author": "Chitti",
        "date": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        "version": version,
        "license": "Apache-2.0",
        "docs": "inference/models/weld-defects.model-card.md",
        "stride": str(max(STRIDES)),
        "task": "detect",
        "batch": str(1),
        "imgsz": str([IMGSZ, IMGSZ]),
        "names": str(names),
        "args": str({"batch": 1, "dynamic": True, "nms": False, "half": False, "imgsz": IMGSZ}),
        "channels": str(3),
    }


def export(model: WeldDetector, path: Path, metadata: dict[str, str]) -> None:
    model.eval()
    model.export = True
    x = torch.zeros(1, 3, IMGSZ, IMGSZ)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model,
        x,
        str(path),
        opset_version=13,
        input_names=["images"],
        output_names=["output0"],
        dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}},
        do_constant_folding=True,
    )
    proto = onnx.load(str(path))
    # the tracer leaves the channel and anchor axes symbolic; they are fixed for this imgsz
    out_dims = proto.graph.output[0].type.tensor_type.shape.dim
    out_dims[1].dim_value = 4 + model.nc
    out_dims[2].dim_value = sum((IMGSZ // s) ** 2 for s in STRIDES)
    del proto.metadata_props[:]
    for k, v in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def sample_canvas(seed: int = 3_000_000) -> np.ndarray:
    """A generated radiograph, letterboxed: uint8 [IMGSZ, IMGSZ]."""
    img, _ = render(seed)
    canvas, _ = letterbox(np.round(img * 255).astype(np.uint8), IMGSZ, IMGSZ)
    return canvas


def verify_with_node(model: WeldDetector, path: Path) -> dict:
    """The file in onnxruntime-node: names, [1|2, 4+nc, A] outputs, and torch's output on a radiograph."""
    anchors = sum((IMGSZ // s) ** 2 for s in STRIDES)
    canvas = sample_canvas()
    expected = predict(model, canvas[None])
    blank = np.zeros((1, IMGSZ, IMGSZ), np.uint8)
    _, single = OnnxNodeModel(path, batch=1).run(blank)
    # a batch of two: a blank image beside the radiograph, whose output is compared with torch's
    pair, double = OnnxNodeModel(path, batch=2).run(np.concatenate([blank, canvas[None]]))
    got = pair[1:]
    info = {
        "inputNames": single["inputNames"],
        "outputNames": single["outputNames"],
        "zeroDims": single["dims"],
        "batch2Dims": double["dims"],
    }
    assert info["inputNames"] == ["images"] and info["outputNames"] == ["output0"], info
    assert info["zeroDims"] == [1, 4 + model.nc, anchors], info
    assert info["batch2Dims"] == [2, 4 + model.nc, anchors], info
    diff_boxes = float(np.abs(got[:, :4] - expected[:, :4]).max())
    diff_scores = float(np.abs(got[:, 4:] - expected[:, 4:]).max())
    info.update(max_abs_diff_boxes_px=diff_boxes, max_abs_diff_scores=diff_scores)
    assert diff_boxes < 1e-2 and diff_scores < 1e-3, info
    return info


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--untrained", action="store_true", help="export a randomly initialised model (layout only)")
    ap.add_argument("--version", required=True)
    ap.add_argument("--out", type=Path, help="default inference/models/weld-defects-<version>.onnx")
    ap.add_argument("--verify", action="store_true", help="check the file in onnxruntime-node against torch")
    args = ap.parse_args()
    torch.set_num_threads(2)
    if args.untrained:
        torch.manual_seed(0)
        model = WeldDetector(nc=len(CLASS_NAMES))
        description = "Chitti weld radiograph defect detector, UNTRAINED (random weights; layout only)"
    else:
        if args.weights is None:
            ap.error("--weights is required unless --untrained")
        model = load_checkpoint(args.weights)
        description = "Chitti weld radiograph defect detector (trained on synthetic radiographs)"
    out = args.out or MODELS_DIR / f"weld-defects-{args.version}.onnx"
    export(model, out, python_repr_metadata(args.version, description, CLASS_NAMES))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    if args.verify:
        print(json.dumps(verify_with_node(model, out)))


if __name__ == "__main__":
    main()
