"""Write the shipped demo/test samples to inference/samples/.

Samples come from their own seed range (9_000_000 + i), disjoint from train/val/test.
Each gets a YOLO label file; ``samples.json`` lists every defect as a pixel box, and,
when a model is given (``--onnx`` file or ``--weights`` checkpoint), what it finds at
the thresholds that version is deployed with (its ``weld-defects-<version>.deployment.json``,
else ``weld-defects.deployment.json``), so tests can pick a sample whose planted defect the
shipped model detects. ``--detections-only`` keeps the sample files (and the planted sample) as
they are and records a new version's findings on them.

Usage:
    /usr/bin/python3 inference/training/make_samples.py --onnx inference/models/weld-defects-1.1.0.onnx
    /usr/bin/python3 inference/training/make_samples.py --weights inference/training/runs/train/best.pt \
        --model-file weld-defects-1.2.0.onnx
    /usr/bin/python3 inference/training/make_samples.py --onnx inference/models/weld-defects-2.1.0.onnx --detections-only
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
from deployment import Thresholds, deployment_file, read_thresholds, serving_thresholds
from evaluate import load_checkpoint, raw_output
from generate import CLASS_NAMES, render, save_image, yolo_lines
from metrics import decode, iou_matrix
from onnx_node import OnnxNodeModel

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


THRESHOLDS: Thresholds = serving_thresholds()  # the recorded model's, set in main


def detect_many(model, images: list[Path | np.ndarray]) -> list[np.ndarray]:
    """Detections [K, 6] per image, in image pixels, at the deployed thresholds; one model run for all."""
    greys = [read_grey8(im) if isinstance(im, Path) else im for im in images]
    boxed = [letterbox(grey, IMGSZ, IMGSZ) for grey in greys]
    raw = raw_output(model, np.stack([canvas for canvas, _ in boxed]))
    t = THRESHOLDS
    out = []
    for grey, (_, lb), r in zip(greys, boxed, raw):
        h, w = grey.shape
        det = decode(r, conf=t.confidence, iou=t.iou, max_det=t.max_detections, floors=t.class_confidence)
        # back to image pixels: remove the pad, undo the scale, clip
        det[:, [0, 2]] = np.clip((det[:, [0, 2]] - lb.left) / lb.ratio, 0, w)
        det[:, [1, 3]] = np.clip((det[:, [1, 3]] - lb.top) / lb.ratio, 0, h)
        out.append(det)
    return out


def best_hit(det: np.ndarray, cls: int, box: list[float]) -> dict | None:
    if not len(det):
        return None
    iou = iou_matrix(np.array([box], np.float32), det[:, :4])[0]
    hit = np.nonzero((det[:, 5] == cls) & (iou >= 0.5))[0]
    if not len(hit):
        return None
    j = hit[np.argmax(det[hit, 4])]
    return {"score": round(float(det[j, 4]), 3), "iou": round(float(iou[j]), 3)}


def clear_seed(model, exclude: list[int], min_score: float = 0.7, search: int = 300) -> int | None:
    """The first seed with a single defect that the model finds with a high score."""
    candidates = []
    for i in range(search):
        seed = SEED_BASE + 1000 + i
        if seed in exclude:
            continue
        img, boxes = render(seed)
        if len(boxes) == 1:
            candidates.append((seed, np.round(img * 255).astype(np.uint8), boxes[0]))
    dets = detect_many(model, [grey for _, grey, _ in candidates])
    for (seed, _, b), det in zip(candidates, dets):
        hit = best_hit(det, b.cls, [b.x1, b.y1, b.x2, b.y2])
        if hit and hit["score"] >= min_score:
            return seed
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=8)
    source = ap.add_mutually_exclusive_group()
    source.add_argument("--onnx", type=Path, help="exported model whose detections are recorded in samples.json")
    source.add_argument("--weights", type=Path, help="checkpoint whose detections are recorded in samples.json")
    ap.add_argument("--model-file", default=None, help="the .onnx file name the detections belong to (default: --onnx's)")
    ap.add_argument("--detections-only", action="store_true", help="keep the sample files; record this model's findings on them")
    args = ap.parse_args()
    torch.set_num_threads(2)
    model = OnnxNodeModel(args.onnx) if args.onnx else load_checkpoint(args.weights) if args.weights else None
    model_file = args.model_file or (args.onnx.name if args.onnx else None)
    global THRESHOLDS
    THRESHOLDS = read_thresholds(deployment_file(Path(model_file))) if model_file else serving_thresholds()
    thresholds = THRESHOLDS

    SAMPLES_DIR.mkdir(parents=True, exist_ok=True)
    entries = []
    if args.detections_only:
        if model is None:
            ap.error("--detections-only needs --onnx or --weights")
        old = json.loads((SAMPLES_DIR / "samples.json").read_text())
        entries = [{k: v for k, v in e.items() if k not in ("detections", "plantedDefect")} for e in old["samples"]]
        for e in entries:
            e["defects"] = [{k: v for k, v in d.items() if k != "foundBy"} for d in e["defects"]]
        planted = int(old["plantedDefectSample"].removeprefix("weld-").removesuffix(".png"))
        seeds = []
    else:
        seeds = pick_seeds(args.count - (1 if model is not None else 0))
        planted = clear_seed(model, seeds) if model is not None else None
        if planted is not None:
            seeds = [planted, *seeds]
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
        entries.append(entry)
        print(path.name, [d["class"] for d in defects])
    if model is not None:
        # one model run for all samples, read back from the files as written (16-bit windowing included)
        for entry, det in zip(entries, detect_many(model, [SAMPLES_DIR / e["file"] for e in entries])):
            entry["detections"] = [
                {"classId": int(d[5]), "class": CLASS_NAMES[int(d[5])], "score": round(float(d[4]), 3),
                 "box": [round(float(v), 1) for v in d[:4]]}
                for d in det
            ]
            for d in entry["defects"]:
                d["foundBy"] = best_hit(det, d["classId"], d["box"])
            entry["plantedDefect"] = entry["seed"] == planted
        if args.detections_only:
            sample = next(e for e in entries if e["seed"] == planted)
            # A new version keeps the planted sample (the README and the DICOM sample name it) while
            # it finds the defect clearly: 0.05 above its class's served threshold, so a resize
            # kernel's few thousandths cannot drop it (choosing a new one asks for 0.7).
            floors = thresholds.floors()
            if not all(d["foundBy"] and d["foundBy"]["score"] >= floors[d["classId"]] + 0.05 for d in sample["defects"]):
                raise SystemExit(f"{model_file} does not find the planted defect of weld-{planted}.png 0.05 above its threshold: run without --detections-only")
    doc = {
        "description": "Synthetic weld radiographs from inference/training/generate.py (seeds 9000000+); "
        "boxes are x1, y1, x2, y2 in image pixels. 'detections' are the shipped model's output at "
        f"conf {thresholds.confidence} (per class where 'thresholds.classConfidence' says), class-wise NMS IoU {thresholds.iou} (the deployed thresholds); "
        "'foundBy' is the best same-class detection with IoU >= 0.5. "
        "'plantedDefectSample' is an 8-bit PNG with one clearly visible defect the model finds at least 0.05 above its class's threshold.",
        "model": model_file,
        "thresholds": {"confidence": thresholds.confidence, "iou": thresholds.iou, "maxDetections": thresholds.max_detections,
                       "classConfidence": thresholds.class_map()},
        "classes": CLASS_NAMES,
        "plantedDefectSample": f"weld-{planted}.png" if planted is not None else None,
        "samples": entries,
    }
    (SAMPLES_DIR / "samples.json").write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
