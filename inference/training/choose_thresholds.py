"""Choose a model version's confidence threshold on the whole-image VALIDATION splits.

Both splits are inspected as production inspects them (``evaluate.full_pass``: the production
Detector tiles, NMS-es per tile and merges across tile borders) once at conf 0.01; a threshold
t then keeps the merged boxes scoring > t, as serving keeps them. (A pass run at conf t can merge
slightly differently, since a box below t no longer joins one above it; ``evaluate.py --split
full_distractors`` measures the chosen thresholds, per-class ones included, with a pass of its own.)

- false positives per image on ``full_val_distractors`` (whole defect-free radiographs with
  every distractor: text, lead letters, IQIs, markers, overlays, edges, detector artefacts);
- recall per class at IoU 0.5 on ``full_val_realistic`` (whole radiographs with defects).

``--negatives full_distractors --positives full_realistic --pass-conf 0.25`` draws the same curve
on the held-out splits from evaluate.py's pass at the served thresholds: a report of what a
threshold costs there, not a way to choose one.

Reports, for a grid of single thresholds, both figures; the lowest single threshold whose FP per
image on validation is below the goal; and per-class thresholds: for each class the lowest
threshold (0.01 steps, not below the pass's conf) at which it leaves at most its share of the
goal (goal / number of classes false positives per image) on the validation negatives, with the
recall per class they give on the validation positives and their total FP per image. Chitti's
deployments carry per-class confidences (``thresholds.classConfidence``, issue 9): the
``deployment_thresholds`` printed is what goes into ``weld-defects-<version>.deployment.json``.

    /usr/bin/python3 inference/training/choose_thresholds.py --onnx inference/models/weld-defects-2.1.0.onnx \\
        --data inference/training/data --goal 0.05
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from deployment import version_deployment
from evaluate import as_arrays, full_pass, load_full_labels, recall_at
from generate import CLASS_NAMES

GRID = [0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=Path(__file__).parent / "data")
    ap.add_argument("--negatives", default="full_val_distractors")
    ap.add_argument("--positives", default="full_val_realistic")
    ap.add_argument("--goal", type=float, default=0.05, help="false positives per image to stay below")
    ap.add_argument("--pass-conf", type=float, default=0.01,
                    help="confidence of the pass the grid is cut from (0.25 reuses evaluate.py's served pass; grid values below it are left out)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    nc = len(CLASS_NAMES)
    iou = version_deployment(args.onnx).iou

    neg_files, neg_labels, _ = load_full_labels(args.data / args.negatives)
    pos_files, pos_labels, _ = load_full_labels(args.data / args.positives)
    neg = as_arrays(full_pass(args.onnx, args.data, args.negatives, neg_files, args.pass_conf, iou))
    pos = as_arrays(full_pass(args.onnx, args.data, args.positives, pos_files, args.pass_conf, iou))
    assert all(len(g) == 0 for g in neg_labels), "the negative split must be defect-free"
    scores = np.concatenate([d[:, 4] for d in neg]) if neg else np.zeros(0)
    classes = np.concatenate([d[:, 5] for d in neg]) if neg else np.zeros(0)

    def fp_per_image(t: float | list[float]) -> float:
        floor = np.asarray(t if isinstance(t, list) else [t] * nc)
        return float((scores > floor[classes.astype(int)]).sum() / max(1, len(neg)))

    def summary(t: float | list[float]) -> dict:
        rec = recall_at(pos, pos_labels, nc, t, strict=True)
        present = [r for r in rec if r is not None]
        return {
            "threshold": t,
            "fp_per_image": round(fp_per_image(t), 4),
            "recall": dict(zip(CLASS_NAMES, rec)),
            "mean_recall": round(float(np.mean(present)), 4) if present else None,
        }

    levels = [t for t in GRID if t >= args.pass_conf]
    grid = [summary(t) for t in levels]
    single = next((g for g in grid if g["fp_per_image"] < args.goal), None)
    # per class: the lowest threshold (0.01 steps) at which the class leaves at most its share of
    # the goal on the validation negatives. Serving keeps a box scoring > t, so t at the
    # (allowed + 1)-th highest false-positive score leaves at most `allowed` of them.
    allowed = math.floor(args.goal / nc * len(neg) + 1e-9)
    per_class = []
    for c in range(nc):
        s = np.sort(scores[classes == c])[::-1]
        need = float(s[allowed]) if len(s) > allowed else 0.0
        per_class.append(round(max(args.pass_conf, math.ceil(need * 100 - 1e-6) / 100), 2))
    deployed = version_deployment(args.onnx)
    doc = {
        "model": args.onnx.name,
        "negatives": {"split": args.negatives, "images": len(neg)},
        "positives": {"split": args.positives, "images": len(pos), "defects": int(sum(len(g) for g in pos_labels))},
        "goal_fp_per_image": args.goal,
        "grid": grid,
        "lowest_single_meeting_goal": single,
        "per_class": {
            **summary(per_class),
            "goal_share_fp_per_image": round(args.goal / nc, 4),
            "fp_per_image_per_class": {
                n: round(float((scores[classes == c] > per_class[c]).sum() / max(1, len(neg))), 4)
                for c, n in enumerate(CLASS_NAMES)
            },
        },
        # paste into inference/models/weld-defects-<version>.deployment.json
        "deployment_thresholds": {
            "confidence": deployed.confidence,
            "iou": deployed.iou,
            "maxDetections": deployed.max_detections,
            "classConfidence": dict(zip(CLASS_NAMES, per_class)),
        },
    }
    print(json.dumps(doc, indent=2))
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
