"""Write the shipped demo/test samples to inference/samples/.

Samples come from their own seed range (9_000_000 + i), disjoint from train/val/test.
Each gets a YOLO label file; ``samples.json`` lists every defect as a pixel box, and,
when ``--weights`` is given, what the model finds at conf 0.25 / IoU 0.7 (the serving
defaults), so tests can pick a sample whose planted defect the shipped model detects.

Usage:
    /usr/bin/python3 inference/training/make_samples.py --weights inference/training/runs/train/best.pt \
        --model-file weld-defects-1.0.0.onnx
"""

from __future__ import annotations

import os

# OpenMP threads that spin while waiting burn a shared CPU for nothing: they must sleep.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from data import letterbox, read_grey8
from evaluate import load_checkpoint, predict
from generate import CLASS_NAMES, render, save_image, yolo_lines
from metrics import decode, iou_matrix

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "samples"
SEED_BASE = 9_000_000
IMGSZ = 320


def pick_seeds(count: int, search: int = 400) -> list[int]:
    """Seeds whose images between them show every class, 1-4 defects each, favouring variety."""
    chosen: list[int] = []
    seen = np.zeros(len(CLASS_NAMES), int)
    for i in range(search):
        seed = SEED_BASE + i
        _, boxes = render(seed)
        classes = {b.cls for b in boxes}
        if not 1 <= len(boxes) <= 4:
            continue
        # take a seed if it adds a class seen least so far
        if min(seen[c] for c in classes) == seen.min():
            chosen.append(seed)
            for c in classes:
                seen[c] += 1
        if len(chosen) == count:
            break
    return chosen


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--weights", type=Path, help="checkpoint whose detections are recorded in samples.json")
    ap.add_argument("--model-file", default=None, help="the .onnx file name the detections belong to")
    args = ap.parse_args()
    torch.set_num_threads(2)
    model = load_checkpoint(args.weights) if args.weights else None

    SAMPLES_DIR.mkdir(parents=True, exist_ok=True)
    entries = []
    seeds = pick_seeds(args.count)
    for k, seed in enumerate(seeds):
        img, boxes = render(seed)
        h, w = img.shape
        # one 16-bit PNG and one 16-bit TIFF among the samples
        bits, fmt = (16, "png") if k == 1 else (16, "tiff") if k == 2 else (8, "png")
        stem = f"weld-{seed}"
        path = save_image(img, SAMPLES_DIR / stem, bits, fmt)
        (SAMPLES_DIR / f"{stem}.txt").write_text("".join(line + "\n" for line in yolo_lines(boxes, w, h)))
        defects = [
            {
                "classId": b.cls,
                "class": CLASS_NAMES[b.cls],
                "box": [round(b.x1, 1), round(b.y1, 1), round(b.x2, 1), round(b.y2, 1)],
            }
            for b in boxes
        ]
        entry = {
            "file": path.name,
            "labels": f"{stem}.txt",
            "seed": seed,
            "width": w,
            "height": h,
            "bitDepth": bits,
            "format": fmt,
            "defects": defects,
        }
        if model is not None:
            grey = read_grey8(path)
            canvas, lb = letterbox(grey, IMGSZ, IMGSZ)
            det = decode(predict(model, canvas[None])[0], conf=0.25, iou=0.7, max_det=300)
            # back to image pixels: remove the pad, undo the scale, clip
            det[:, [0, 2]] = np.clip((det[:, [0, 2]] - lb.left) / lb.ratio, 0, w)
            det[:, [1, 3]] = np.clip((det[:, [1, 3]] - lb.top) / lb.ratio, 0, h)
            entry["detections"] = [
                {"classId": int(d[5]), "class": CLASS_NAMES[int(d[5])], "score": round(float(d[4]), 3),
                 "box": [round(float(v), 1) for v in d[:4]]}
                for d in det
            ]
            if len(det) and defects:
                gt = np.array([d["box"] for d in defects], np.float32)
                iou = iou_matrix(gt, det[:, :4])
                for i, d in enumerate(defects):
                    same = det[:, 5] == d["classId"]
                    hit = np.nonzero(same & (iou[i] >= 0.5))[0]
                    d["foundBy"] = (
                        {"score": round(float(det[hit, 4].max()), 3), "iou": round(float(iou[i, hit].max()), 3)}
                        if len(hit)
                        else None
                    )
        entries.append(entry)
        print(path.name, [d["class"] for d in defects])
    doc = {
        "description": "Synthetic weld radiographs from inference/training/generate.py (seeds 9000000+); "
        "boxes are x1, y1, x2, y2 in image pixels. 'detections' are the shipped model's output at "
        "conf 0.25, class-wise NMS IoU 0.7; 'foundBy' is the best same-class detection with IoU >= 0.5.",
        "model": args.model_file,
        "classes": CLASS_NAMES,
        "samples": entries,
    }
    (SAMPLES_DIR / "samples.json").write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
