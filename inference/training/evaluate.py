"""Evaluate a checkpoint (or an exported ONNX file's torch twin) on a held-out split.

Images are letterboxed to 320x320 as the serving pipeline does; the model runs in
export mode, so the metric is computed on exactly the tensor layout the ONNX file
emits, decoded with conf 0.001 and class-wise NMS at IoU 0.7 (max 300 detections).
Boxes are compared in letterboxed pixels: IoU does not change under the uniform
scale and shift that maps them back to the original image.

Usage:
    /usr/bin/python3 inference/training/evaluate.py --weights inference/training/runs/train/best.pt \
        --data inference/training/data --split test --json inference/models/weld-defects.metrics.json
"""

from __future__ import annotations

import os

# OpenMP threads that spin while waiting burn a shared CPU for nothing: they must sleep.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from data import load_split
from generate import CLASS_NAMES, SPLITS
from metrics import decode, mean_average_precision
from model import WeldDetector

EVAL_SIZE = 320


@torch.no_grad()
def predict(model: WeldDetector, images: np.ndarray, batch: int = 16) -> np.ndarray:
    """Letterboxed uint8 greyscale [N, H, W] -> raw output [N, 4+nc, A]."""
    was_training, was_export = model.training, model.export
    model.eval()
    model.export = True
    outs = []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(images[i : i + batch]).float().div_(255.0).unsqueeze(1).expand(-1, 3, -1, -1)
        outs.append(model(x.contiguous()).numpy())
    model.train(was_training)
    model.export = was_export
    return np.concatenate(outs)


def evaluate_model(
    model: WeldDetector, images: np.ndarray, labels: list[np.ndarray], nc: int, max_candidates: int = 30000
) -> dict:
    """max_candidates below 30000 (the Ultralytics cap) trades the low-score tail for speed."""
    raw = predict(model, images)
    dets = [decode(r, conf=0.001, iou=0.7, max_det=300, max_candidates=max_candidates) for r in raw]
    return mean_average_precision(dets, labels, nc)


def load_checkpoint(path: Path) -> WeldDetector:
    state = torch.load(path, map_location="cpu")
    model = WeldDetector(nc=len(state.get("names", CLASS_NAMES)))
    model.load_state_dict(state["model"])
    return model.eval()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=Path(__file__).parent / "data")
    ap.add_argument("--split", default="test", choices=list(SPLITS))
    ap.add_argument("--json", type=Path, help="write the metrics here")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    split = load_split(args.data / args.split, EVAL_SIZE, EVAL_SIZE)
    model = load_checkpoint(args.weights)
    t = time.time()
    m = evaluate_model(model, split.images, split.labels, len(CLASS_NAMES))
    base, _ = SPLITS[args.split]
    report = {
        "command": shlex.join(["/usr/bin/python3", *sys.argv]),
        "weights_step": torch.load(args.weights, map_location="cpu").get("step"),
        "split": args.split,
        "seeds": [base, base + len(split.images) - 1],
        "images": len(split.images),
        "imgsz": [EVAL_SIZE, EVAL_SIZE],
        "conf": 0.001,
        "nms_iou": 0.7,
        "mAP50": round(m["mAP50"], 4),
        "mAP50_95": round(m["mAP50_95"], 4),
        "per_class": {
            name: {
                "AP50": round(m["ap50_per_class"][i], 4),
                "AP50_95": round(m["ap50_95_per_class"][i], 4),
                "instances": m["instances_per_class"][i],
            }
            for i, name in enumerate(CLASS_NAMES)
        },
        "eval_seconds": round(time.time() - t, 1),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
