"""Decoding of the Ultralytics-layout output, class-wise NMS and COCO-style mAP."""

from __future__ import annotations

import numpy as np

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a [N,4], b [M,4] xyxy -> [N,M]."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).prod(-1)
    return inter / (area_a[:, None] + area_b[None, :] - inter + 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_thr: float) -> np.ndarray:
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        if order.size == 1:
            break
        ious = iou_matrix(boxes[i : i + 1], boxes[order[1:]])[0]
        order = order[1:][ious <= iou_thr]
    return np.array(keep, dtype=np.int64)


def decode(
    output: np.ndarray,
    conf: float = 0.25,
    iou: float = 0.7,
    max_det: int = 300,
    max_candidates: int = 30000,
    floors: list[float] | None = None,
) -> np.ndarray:
    """One image's output [4+nc, A] -> detections [K, 6] (x1, y1, x2, y2, score, cls).

    Like Ultralytics' non_max_suppression without multi_label: each anchor keeps its best
    class; boxes are suppressed only against boxes of the same class. `floors` (per class, the
    deployment's classConfidence with `conf` for the others): an anchor is kept when its best
    class's score exceeds that class's floor, before NMS and max_det, as Chitti serves.
    """
    out = output.T
    cls_scores = out[:, 4:]
    cls = cls_scores.argmax(1)
    score = cls_scores[np.arange(len(out)), cls]
    sel = score > (conf if floors is None else np.asarray(floors, dtype=np.float64)[cls])
    if not sel.any():
        return np.zeros((0, 6), np.float32)
    cx, cy, w, h = out[sel, 0], out[sel, 1], out[sel, 2], out[sel, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    score, cls = score[sel], cls[sel]
    # cap the candidates like Ultralytics (max_nms) to bound the cost
    top = np.argsort(-score, kind="stable")[:max_candidates]
    boxes, score, cls = boxes[top], score[top], cls[top]
    keep = []
    for c in np.unique(cls):
        idx = np.nonzero(cls == c)[0]
        keep.extend(idx[nms(boxes[idx], score[idx], iou)])
    keep = np.array(keep, dtype=np.int64)
    keep = keep[np.argsort(-score[keep], kind="stable")][:max_det]
    return np.concatenate([boxes[keep], score[keep, None], cls[keep, None].astype(np.float32)], 1).astype(np.float32)


def match(det: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """True-positive matrix [K, 10] for one image: greedy by IoU, one detection per box."""
    tp = np.zeros((len(det), len(IOU_THRESHOLDS)), bool)
    if len(det) == 0 or len(gt) == 0:
        return tp
    iou = iou_matrix(gt[:, 1:5], det[:, :4])  # [G, K]
    same_cls = gt[:, 0:1] == det[None, :, 5]
    for j, thr in enumerate(IOU_THRESHOLDS):
        gi, di = np.nonzero((iou >= thr) & same_cls)
        if not len(gi):
            continue
        pairs = np.stack([gi, di, iou[gi, di]], 1)
        pairs = pairs[np.argsort(-pairs[:, 2], kind="stable")]
        pairs = pairs[np.unique(pairs[:, 1], return_index=True)[1]]
        pairs = pairs[np.argsort(-pairs[:, 2], kind="stable")]
        pairs = pairs[np.unique(pairs[:, 0], return_index=True)[1]]
        tp[pairs[:, 1].astype(int), j] = True
    return tp


def average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """COCO 101-point interpolated AP over the precision envelope."""
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[1.0], precision, [0.0]])
    mpre = np.flip(np.maximum.accumulate(np.flip(mpre)))
    x = np.linspace(0, 1, 101)
    return float(np.trapz(np.interp(x, mrec, mpre), x))


def mean_average_precision(dets: list[np.ndarray], gts: list[np.ndarray], nc: int) -> dict:
    """dets per image [K, 6]; gts per image [G, 5] (cls, x1, y1, x2, y2)."""
    tps, confs, pred_cls = [], [], []
    for d, g in zip(dets, gts):
        tps.append(match(d, g))
        confs.append(d[:, 4])
        pred_cls.append(d[:, 5])
    tp = np.concatenate(tps) if tps else np.zeros((0, 10), bool)
    conf = np.concatenate(confs) if confs else np.zeros(0)
    pcls = np.concatenate(pred_cls) if pred_cls else np.zeros(0)
    gt_cls = np.concatenate([g[:, 0] for g in gts]) if gts else np.zeros(0)
    order = np.argsort(-conf, kind="stable")
    tp, conf, pcls = tp[order], conf[order], pcls[order]
    ap = np.zeros((nc, len(IOU_THRESHOLDS)))
    counts = np.zeros(nc, int)
    for c in range(nc):
        sel = pcls == c
        n_gt = int((gt_cls == c).sum())
        counts[c] = n_gt
        if n_gt == 0 or not sel.any():
            continue
        tpc = np.cumsum(tp[sel], 0)
        fpc = np.cumsum(~tp[sel], 0)
        recall = tpc / n_gt
        precision = tpc / (tpc + fpc)
        for j in range(len(IOU_THRESHOLDS)):
            ap[c, j] = average_precision(recall[:, j], precision[:, j])
    present = counts > 0
    return {
        "mAP50": float(ap[present, 0].mean()) if present.any() else 0.0,
        "mAP50_95": float(ap[present].mean()) if present.any() else 0.0,
        "ap50_per_class": ap[:, 0].tolist(),
        "ap50_95_per_class": ap.mean(1).tolist(),
        "instances_per_class": counts.tolist(),
    }


def false_positives(dets: list[np.ndarray], gts: list[np.ndarray], conf: float, iou: float = 0.5) -> list[np.ndarray]:
    """Per image, the detections scoring >= conf that are false positives, [F, 6].

    A detection is a true positive when it takes a labelled box of its class at IoU >= iou
    that no higher-scoring detection took (the mAP50 matching); every other one is false.
    On a defect-free image every detection at the threshold is a false positive."""
    out = []
    for d, g in zip(dets, gts):
        d = d[d[:, 4] >= conf]
        d = d[np.argsort(-d[:, 4], kind="stable")]
        j = int(np.argmin(np.abs(IOU_THRESHOLDS - iou)))
        out.append(d[~match(d, g)[:, j]])
    return out
