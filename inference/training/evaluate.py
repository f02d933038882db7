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
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from data import load_split, read_labels
from deployment import Thresholds, served as served_rows, serving_thresholds, version_deployment
from generate import CLASS_NAMES, FULL_SPLITS, REAL_SPLITS, SPLITS
from metrics import IOU_THRESHOLDS, decode, false_positives, match, mean_average_precision
from model import WeldDetector
from onnx_node import REPO_ROOT, OnnxNodeModel

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
    served: Thresholds | None = None,
) -> dict:
    """mean_average_precision, the NMS IoU used (the deployed one unless given), and the false
    positives per image at the deployed confidence threshold (`served`: a version's deployment
    thresholds; default the shared deployment file's).

    max_candidates below 30000 (the Ultralytics cap) trades the low-score tail for speed."""
    served = served or serving_thresholds()
    iou = served.iou if nms_iou is None else nms_iou
    raw = raw_output(model, images)
    dets = [decode(r, conf=0.001, iou=iou, max_det=300, max_candidates=max_candidates) for r in raw]
    # at the served thresholds, per-class entries included (score > its class's threshold)
    fp = false_positives([served_rows(d, served) for d in dets], labels, 0.0)
    fp_classes = np.concatenate([f[:, 5] for f in fp]) if fp else np.zeros(0)
    counts = np.array([len(f) for f in fp])
    return {
        **mean_average_precision(dets, labels, nc),
        "nms_iou": iou,
        "conf_served": served.confidence,
        "class_conf_served": served.class_map(),
        "fp_per_image": float(counts.sum() / max(1, len(images))),
        "images_with_fp": int((counts > 0).sum()),
        "fp_per_class": [int((fp_classes == c).sum()) for c in range(nc)],
    }


TILED_DETECT = Path(__file__).resolve().parent / "tiled-detect.ts"


def tiled_detections(
    onnx: Path, files: list[Path], conf: float, iou: float | None = None, class_confidence: dict[str, float] | None = None
) -> list[dict]:
    """Whole images through the production path (``tiled-detect.ts``: image pool decode and window,
    the model version's tiling, micro-batched onnxruntime-node, per-class confidence and NMS per
    tile, merge across tile borders), one record per image: width, height, tiles, detections
    [[x1, y1, x2, y2, score, cls]]. `class_confidence`: a deployment's per-class thresholds."""
    cmd = ["node", "--import", "tsx", str(TILED_DETECT), "--model", str(onnx.resolve()), "--conf", str(conf)]
    if iou is not None:
        cmd += ["--iou", str(iou)]
    if class_confidence:
        cmd += ["--class-confidence", json.dumps(class_confidence, sort_keys=True)]
    out = []
    for i in range(0, len(files), 20):  # a few images per process: bounded command lines
        res = subprocess.run([*cmd, *(str(f.resolve()) for f in files[i : i + 20])], cwd=REPO_ROOT, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"tiled-detect failed on {onnx}: {res.stderr.strip()[-2000:]}")
        out.extend(json.loads(line) for line in res.stdout.splitlines() if line.startswith("{"))
    return out


def load_full_labels(root: Path) -> tuple[list[Path], list[np.ndarray], list[dict]]:
    """A whole-image split: files, labels [G, 5] in image pixels, and each image's size/spacing."""
    files = sorted(p for p in (root / "images").iterdir() if p.suffix.lower() in (".png", ".tif", ".tiff"))
    labels, info = [], []
    for f in files:
        meta = json.loads((root / "labels" / f"{f.stem}.json").read_text())
        labels.append(read_labels(root / "labels" / f"{f.stem}.txt", meta["width"], meta["height"]))
        info.append(meta)
    return files, labels, info


def recall_at(
    dets: list[np.ndarray], gts: list[np.ndarray], nc: int, conf: float | list[float], iou: float = 0.5, strict: bool = False
) -> list[float | None]:
    """Per class, the share of labelled defects a detection of that class scoring >= its threshold
    (> with `strict`, as serving keeps them) takes at IoU >= iou."""
    j = int(np.argmin(np.abs(IOU_THRESHOLDS - iou)))
    found, total = np.zeros(nc), np.zeros(nc)
    for d, g in zip(dets, gts):
        thr = np.asarray(conf if isinstance(conf, list) else [conf] * nc)
        if len(d):
            d = d[d[:, 4] > thr[d[:, 5].astype(int)]] if strict else d[d[:, 4] >= thr[d[:, 5].astype(int)]]
        d = d[np.argsort(-d[:, 4], kind="stable")]
        for c in range(nc):
            gc = g[g[:, 0] == c]
            total[c] += len(gc)
            if len(gc) and len(d):
                found[c] += int(match(d, gc)[:, j].sum())
    return [round(float(found[c] / total[c]), 4) if total[c] else None for c in range(nc)]


def full_pass(
    onnx: Path, data: Path, name: str, files: list[Path], conf: float, iou: float, class_confidence: dict[str, float] | None = None
) -> list[dict]:
    """tiled_detections, kept in <data>/<split>/detections/ by model hash and thresholds (a pass
    over a few hundred large images takes minutes; the threshold choice reuses it)."""
    sha = hashlib.sha256(onnx.read_bytes()).hexdigest()[:16]
    per = f"-cc{hashlib.sha256(json.dumps(class_confidence, sort_keys=True).encode()).hexdigest()[:8]}" if class_confidence else ""
    cache = data / name / "detections" / f"{onnx.stem}-{sha}-conf{conf}-iou{iou}{per}.jsonl"
    if cache.exists():
        rows = [json.loads(line) for line in cache.read_text().splitlines() if line]
        if [r["file"] for r in rows] == [f.name for f in files]:
            return rows
    rows = tiled_detections(onnx, files, conf, iou=iou, class_confidence=class_confidence)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def as_arrays(rows: list[dict]) -> list[np.ndarray]:
    return [np.array(r["detections"], np.float32).reshape(-1, 6) for r in rows]


def full_report(onnx: Path, data: Path, name: str) -> dict:
    """A whole-image split inspected as production inspects it. mAP (splits with defects) over the
    merged boxes of a low-threshold pass (conf 0.01: merging at 0.001 would join thousands of boxes per image);
    false positives per IMAGE and recall per class from a second pass at the version's
    deployment thresholds (its deployment file), what a user is served."""
    served = version_deployment(onnx)
    files, labels, info = load_full_labels(data / name)
    t = time.time()
    has_defects = any(len(g) for g in labels)
    # a defect-free split has no AP: only the pass at the served thresholds counts there
    low = full_pass(onnx, data, name, files, 0.01, served.iou) if has_defects else []
    m = mean_average_precision(as_arrays(low), labels, len(CLASS_NAMES))
    at = full_pass(onnx, data, name, files, served.confidence, served.iou, served.class_map())
    dets_at = as_arrays(at)
    fp = false_positives(dets_at, labels, 0.0)
    counts = np.array([len(f) for f in fp])
    fp_classes = np.concatenate([f[:, 5] for f in fp]) if fp else np.zeros(0)
    return {
        "split": name,
        "whole_images": True,
        "pipeline": "inference/training/tiled-detect.ts: the production Detector (window, tiling, per-tile NMS, merge)",
        "seeds": [int(files[0].stem.split("_")[1]), int(files[-1].stem.split("_")[1])] if files else [],
        "images": len(files),
        "tiles": int(sum(r["tiles"] for r in at)),
        "image_px": {"min_side": min(min(i["width"], i["height"]) for i in info), "max_side": max(max(i["width"], i["height"]) for i in info)},
        "conf": 0.01,
        "nms_iou": served.iou,
        "mAP50": round(m["mAP50"], 4) if has_defects else None,
        "mAP50_95": round(m["mAP50_95"], 4) if has_defects else None,
        "per_class": {
            n: {"AP50": round(m["ap50_per_class"][i], 4), "AP50_95": round(m["ap50_95_per_class"][i], 4), "instances": m["instances_per_class"][i]}
            for i, n in enumerate(CLASS_NAMES)
        },
        "served_thresholds": {"conf": served.confidence, "nms_iou": served.iou, **({"class_conf": served.class_map()} if served.class_map() else {})},
        "fp_per_image": round(float(counts.sum() / max(1, len(files))), 4),
        "images_with_fp": int((counts > 0).sum()),
        "fp_per_class": dict(zip(CLASS_NAMES, [int((fp_classes == c).sum()) for c in range(len(CLASS_NAMES))])),
        "recall_at_served": dict(zip(CLASS_NAMES, recall_at(dets_at, labels, len(CLASS_NAMES), 0.0))) if has_defects else None,
        "eval_seconds": round(time.time() - t, 1),
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
    ap.add_argument("--split", nargs="+", default=["test"], choices=[*SPLITS, *REAL_SPLITS, *FULL_SPLITS],
                    help="one or more splits; with several, the JSON holds one report per split")
    ap.add_argument("--json", type=Path, help="write the metrics here")
    ap.add_argument("--add", action="store_true", help="add these splits to the --json file of the same model instead of replacing it")
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
    if any(name in FULL_SPLITS for name in args.split) and not args.onnx:
        ap.error("whole-image splits run the exported file in the production pipeline: use --onnx")
    reports = {
        name: full_report(args.onnx, args.data, name) if name in FULL_SPLITS else split_report(model, args.data, name, args.nms_iou)
        for name in args.split
    }
    if args.add and args.json and args.json.exists():
        # another set of splits of the same file: kept beside the splits measured before, with its command
        doc = json.loads(args.json.read_text())
        if doc.get("model_sha256") != source.get("model_sha256"):
            ap.error(f"{args.json} describes another model file; write it afresh without --add")
        doc.setdefault("commands", [doc.pop("command")] if "command" in doc else []).append(command)
        doc.setdefault("splits", {}).update(reports)
    elif len(reports) == 1:
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
    served = version_deployment(model.path) if isinstance(model, OnnxNodeModel) else None
    m = evaluate_model(model, split.images, split.labels, len(CLASS_NAMES), nms_iou=nms_iou, served=served)
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
        "served_thresholds": {"conf": m["conf_served"], "nms_iou": m["nms_iou"], **({"class_conf": m["class_conf_served"]} if m["class_conf_served"] else {})},
        "fp_per_image": round(m["fp_per_image"], 4),
        "images_with_fp": m["images_with_fp"],
        "fp_per_class": dict(zip(CLASS_NAMES, m["fp_per_class"])),
        "eval_seconds": round(time.time() - t, 1),
    }
    return report


if __name__ == "__main__":
    main()
