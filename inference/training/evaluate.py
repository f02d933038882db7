"""Evaluate an exported ONNX file, or a torch checkpoint, on held-out splits.

Images are letterboxed to 320x320 as the serving pipeline does. ``--onnx`` runs the
file itself in onnxruntime-node (the runtime Chitti serves it with); ``--weights`` runs
a checkpoint in export mode, the same tensor layout the ONNX file emits. Outputs are
decoded with conf 0.001 and class-wise NMS at the IoU the bundled model is deployed
with (``inference/models/weld-defects.deployment.json``; ``--nms-iou`` overrides it),
max 300 detections. Boxes are compared in letterboxed pixels: IoU does not change
under the uniform scale and shift that maps them back to the original image.

Splits: the classic ``test`` (``val``) split, and the realistic ones of ``generate.REAL_SPLITS``:
``realistic`` (320x320 tiles of large radiographs at native resolution, with defects; a tile
letterboxes to itself) and ``distractors`` (tiles of defect-free radiographs centred on
text, lead letters, IQIs, markers, edges and detector artefacts). Every split reports mAP50,
mAP50-95 and per-class AP, and the false positives per image at the deployed thresholds
(conf and NMS IoU of ``weld-defects.deployment.json``): detections that match no labelled
defect of their class at IoU 0.5. On ``distractors`` every detection at those thresholds is one.

Usage:
    /usr/bin/python3 inference/training/evaluate.py --onnx inference/models/weld-defects-1.1.0.onnx \
        --data inference/training/data --split test --json inference/models/weld-defects.metrics.json
    /usr/bin/python3 inference/training/evaluate.py --onnx inference/models/weld-defects-1.1.0.onnx \
        --data inference/training/data --split test realistic distractors \
        --json inference/models/weld-defects-1.1.0.metrics.json
    /usr/bin/python3 inference/training/evaluate.py --weights inference/training/runs/train/best.pt \
        --data inference/training/data --split val
"""

from __future__ import annotations

import os

# OpenMP threads that spin while waiting burn a shared CPU for nothing: they must sleep.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import hashlib
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from data import load_split
from deployment import serving_thresholds
from generate import CLASS_NAMES, REAL_SPLITS, SPLITS
from metrics import decode, false_positives, mean_average_precision
from model import WeldDetector
from onnx_node import OnnxNodeModel

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


def raw_output(model: WeldDetector | OnnxNodeModel, images: np.ndarray) -> np.ndarray:
    """Letterboxed uint8 greyscale [N, H, W] -> raw output [N, 4+nc, A], from either runtime."""
    return model.predict(images) if isinstance(model, OnnxNodeModel) else predict(model, images)


def evaluate_model(
    model: WeldDetector | OnnxNodeModel,
    images: np.ndarray,
    labels: list[np.ndarray],
    nc: int,
    nms_iou: float | None = None,
    max_candidates: int = 30000,
) -> dict:
    """mean_average_precision, the NMS IoU used (the deployed one unless given), and the false
    positives per image at the deployed confidence threshold.

    max_candidates below 30000 (the Ultralytics cap) trades the low-score tail for speed."""
    served = serving_thresholds()
    iou = served.iou if nms_iou is None else nms_iou
    raw = raw_output(model, images)
    dets = [decode(r, conf=0.001, iou=iou, max_det=300, max_candidates=max_candidates) for r in raw]
    fp = false_positives(dets, labels, served.confidence)
    fp_classes = np.concatenate([f[:, 5] for f in fp]) if fp else np.zeros(0)
    counts = np.array([len(f) for f in fp])
    return {
        **mean_average_precision(dets, labels, nc),
        "nms_iou": iou,
        "conf_served": served.confidence,
        "fp_per_image": float(counts.sum() / max(1, len(images))),
        "images_with_fp": int((counts > 0).sum()),
        "fp_per_class": [int((fp_classes == c).sum()) for c in range(nc)],
    }


def load_checkpoint(path: Path) -> WeldDetector:
    state = torch.load(path, map_location="cpu")
    model = WeldDetector(nc=len(state.get("names", CLASS_NAMES)))
    model.load_state_dict(state["model"])
    return model.eval()


def main() -> None:
    ap = argparse.ArgumentParser()
    source = ap.add_mutually_exclusive_group(required=True)
    source.add_argument("--onnx", type=Path, help="an exported model file, run in onnxruntime-node")
    source.add_argument("--weights", type=Path, help="a torch checkpoint from train.py")
    ap.add_argument("--nms-iou", type=float, help="default: the deployed IoU (weld-defects.deployment.json)")
    ap.add_argument("--data", type=Path, default=Path(__file__).parent / "data")
    ap.add_argument("--split", nargs="+", default=["test"], choices=[*SPLITS, *REAL_SPLITS],
                    help="one or more splits; with several, the JSON holds one report per split")
    ap.add_argument("--json", type=Path, help="write the metrics here")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model = OnnxNodeModel(args.onnx) if args.onnx else load_checkpoint(args.weights)
    source = (
        {"model_file": args.onnx.name, "model_sha256": hashlib.sha256(args.onnx.read_bytes()).hexdigest()}
        if args.onnx
        else {"weights_step": torch.load(args.weights, map_location="cpu").get("step")}
    )
    command = shlex.join(["/usr/bin/python3", *sys.argv])
    reports = {name: split_report(model, args.data, name, args.nms_iou) for name in args.split}
    if len(reports) == 1:
        doc = {"command": command, **source, **next(iter(reports.values()))}
    else:
        doc = {"command": command, **source, "splits": reports}
    print(json.dumps(doc, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n")


def split_report(model: WeldDetector | OnnxNodeModel, data: Path, name: str, nms_iou: float | None) -> dict:
    split = load_split(data / name, EVAL_SIZE, EVAL_SIZE)
    t = time.time()
    m = evaluate_model(model, split.images, split.labels, len(CLASS_NAMES), nms_iou=nms_iou)
    if name in SPLITS:
        base = SPLITS[name][0]
        seeds = [base, base + len(split.images) - 1]
    else:
        seeds = sorted({int(n.split("_")[1]) for n in split.names})
        seeds = [seeds[0], seeds[-1]] if seeds else []
    report = {
        "split": name,
        "seeds": seeds,
        "images": len(split.images),
        "imgsz": [EVAL_SIZE, EVAL_SIZE],
        "conf": 0.001,
        "nms_iou": m["nms_iou"],
        # a split without defects (distractors) has no AP; its figure is fp_per_image
        "mAP50": round(m["mAP50"], 4) if sum(m["instances_per_class"]) else None,
        "mAP50_95": round(m["mAP50_95"], 4) if sum(m["instances_per_class"]) else None,
        "per_class": {
            name: {
                "AP50": round(m["ap50_per_class"][i], 4),
                "AP50_95": round(m["ap50_95_per_class"][i], 4),
                "instances": m["instances_per_class"][i],
            }
            for i, name in enumerate(CLASS_NAMES)
        },
        "served_thresholds": {"conf": m["conf_served"], "nms_iou": m["nms_iou"]},
        "fp_per_image": round(m["fp_per_image"], 4),
        "images_with_fp": m["images_with_fp"],
        "fp_per_class": dict(zip(CLASS_NAMES, m["fp_per_class"])),
        "eval_seconds": round(time.time() - t, 1),
    }
    return report


if __name__ == "__main__":
    main()
