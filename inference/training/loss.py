"""Task-aligned assignment (as in TOOD / YOLOv8) with GIoU box loss and BCE class loss.

Candidates for a ground-truth box are the anchor points inside it, plus those within
one stride of its centre, so that pores a few pixels wide still get candidates on the
stride-8 grid. Among candidates the top-k by s^alpha * IoU^beta become positives; the
class target is that alignment, normalised per box to its best IoU.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from model import distances_to_xyxy


def box_iou_pairwise(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a [..., 4], b [..., 4] xyxy, broadcastable -> IoU [...]."""
    lt = torch.maximum(a[..., :2], b[..., :2])
    rb = torch.minimum(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[..., 2:] - a[..., :2]).clamp(min=0).prod(-1)
    area_b = (b[..., 2:] - b[..., :2]).clamp(min=0).prod(-1)
    return inter / (area_a + area_b - inter + 1e-9)


def giou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    iou = box_iou_pairwise(a, b)
    lt = torch.minimum(a[..., :2], b[..., :2])
    rb = torch.maximum(a[..., 2:], b[..., 2:])
    hull = (rb - lt).clamp(min=0).prod(-1)
    lt_i = torch.maximum(a[..., :2], b[..., :2])
    rb_i = torch.minimum(a[..., 2:], b[..., 2:])
    inter = (rb_i - lt_i).clamp(min=0).prod(-1)
    union = inter / (iou + 1e-9)
    return iou - (hull - union) / (hull + 1e-9)


@torch.no_grad()
def assign(
    scores: torch.Tensor,  # [B, A, C] sigmoid
    boxes: torch.Tensor,  # [B, A, 4] xyxy
    points: torch.Tensor,  # [A, 2]
    strides: torch.Tensor,  # [A]
    gt_cls: torch.Tensor,  # [B, M] long
    gt_box: torch.Tensor,  # [B, M, 4]
    gt_mask: torch.Tensor,  # [B, M] bool
    topk: int = 10,
    alpha: float = 0.5,
    beta: float = 6.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Returns target boxes [B, A, 4], target scores [B, A, C], positive mask [B, A]."""
    b, a, c = scores.shape
    m = gt_box.shape[1]
    if m == 0:
        return boxes.new_zeros(b, a, 4), scores.new_zeros(b, a, c), torch.zeros(b, a, dtype=torch.bool)
    px, py = points[:, 0].view(1, 1, a), points[:, 1].view(1, 1, a)
    x1, y1, x2, y2 = (gt_box[..., i].unsqueeze(-1) for i in range(4))  # [B, M, 1]
    inside = (px > x1) & (px < x2) & (py > y1) & (py < y2)
    gcx, gcy = (x1 + x2) / 2, (y1 + y2) / 2
    s = strides.view(1, 1, a)
    near_centre = ((px - gcx).abs() < s) & ((py - gcy).abs() < s)
    candidate = (inside | near_centre) & gt_mask.unsqueeze(-1)  # [B, M, A]

    iou = box_iou_pairwise(gt_box.unsqueeze(2), boxes.unsqueeze(1)).clamp(min=0)  # [B, M, A]
    cls_idx = gt_cls.clamp(min=0).unsqueeze(-1).expand(b, m, a)
    s_cls = scores.permute(0, 2, 1).gather(1, cls_idx)  # [B, M, A]
    align = s_cls.pow(alpha) * iou.pow(beta) * candidate
    # top-k among candidates; ties at zero fall back to IoU-free ranking by candidacy
    rank_key = align + candidate * 1e-9
    k = min(topk, a)
    top_idx = rank_key.topk(k, dim=-1).indices  # [B, M, k]
    pos = torch.zeros_like(candidate)
    pos.scatter_(-1, top_idx, True)
    pos &= candidate

    # an anchor claimed by several boxes keeps the one it overlaps most
    multi = pos.sum(1, keepdim=True) > 1  # [B, 1, A]
    if multi.any():
        best = (iou * pos).argmax(1, keepdim=True)  # [B, 1, A], among the claiming boxes
        only_best = torch.zeros_like(pos).scatter_(1, best, True)
        pos = torch.where(multi, only_best, pos)
    fg = pos.any(1)  # [B, A]
    gt_of = pos.float().argmax(1)  # [B, A]

    t_box = gt_box.gather(1, gt_of.unsqueeze(-1).expand(b, a, 4))
    t_cls = gt_cls.clamp(min=0).gather(1, gt_of)
    align = align * pos
    max_align = align.amax(-1, keepdim=True)  # [B, M, 1]
    max_iou = (iou * pos).amax(-1, keepdim=True)
    norm = (align * max_iou / (max_align + 1e-9)).amax(1)  # [B, A]
    t_scores = F.one_hot(t_cls, c).float() * (norm * fg).unsqueeze(-1)
    return t_box, t_scores, fg


class DetectionLoss:
    def __init__(self, nc: int, box_gain: float = 7.5, cls_gain: float = 0.5):
        self.nc = nc
        self.box_gain = box_gain
        self.cls_gain = cls_gain

    def __call__(self, dist, logits, points, strides, targets: list[torch.Tensor]):
        """dist [B,4,A], logits [B,C,A]; targets per image [n, 5] (cls, x1, y1, x2, y2)."""
        b = dist.shape[0]
        boxes = distances_to_xyxy(dist, points).permute(0, 2, 1)  # [B, A, 4]
        logit = logits.permute(0, 2, 1)  # [B, A, C]
        m = max((len(t) for t in targets), default=0)
        gt_cls = torch.full((b, m), -1, dtype=torch.long)
        gt_box = torch.zeros(b, m, 4)
        for i, t in enumerate(targets):
            if len(t):
                gt_cls[i, : len(t)] = t[:, 0].long()
                gt_box[i, : len(t)] = t[:, 1:]
        gt_mask = gt_cls >= 0
        t_box, t_scores, fg = assign(logit.detach().sigmoid(), boxes.detach(), points, strides, gt_cls, gt_box, gt_mask)
        norm = t_scores.sum().clamp(min=1.0)
        loss_cls = F.binary_cross_entropy_with_logits(logit, t_scores, reduction="sum") / norm
        if fg.any():
            weight = t_scores.sum(-1)[fg]
            loss_box = ((1.0 - giou(boxes[fg], t_box[fg])) * weight).sum() / norm
        else:
            loss_box = boxes.sum() * 0.0
        total = (self.box_gain * loss_box + self.cls_gain * loss_cls) * b
        return total, loss_box.detach(), loss_cls.detach()
