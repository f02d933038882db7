"""A small anchor-free YOLO-style detector (strides 4/8/16/32).

The stride-4 level exists for pores a few pixels wide: on the stride-8 grid one cell
covers a whole pore and its box cannot be placed to the pixel that IoU 0.5 needs.

Training mode returns raw per-level maps for the loss. ``export=True`` returns the
Ultralytics YOLOv8/YOLO11 detection layout: ``[B, 4 + nc, A]`` with rows cx, cy, w, h
in input pixels followed by the class scores after sigmoid (no objectness), the
anchors ordered stride 4 row-major, then 8, 16 and 32.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

STRIDES = (4, 8, 16, 32)


class ConvBnAct(nn.Module):
    def __init__(self, c1: int, c2: int, k: int = 3, s: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2, momentum=0.03, eps=1e-3)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.cv1 = ConvBnAct(c, c, 3)
        self.cv2 = ConvBnAct(c, c, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.cv2(self.cv1(x))


class C2f(nn.Module):
    """CSP block as in YOLOv8: split, n bottlenecks, concatenate every stage, fuse."""

    def __init__(self, c1: int, c2: int, n: int = 1):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = ConvBnAct(c1, 2 * self.c, 1)
        self.blocks = nn.ModuleList(Bottleneck(self.c) for _ in range(n))
        self.cv2 = ConvBnAct((2 + n) * self.c, c2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = list(self.cv1(x).chunk(2, 1))
        for block in self.blocks:
            y.append(block(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.cv1 = ConvBnAct(c, c // 2, 1)
        self.cv2 = ConvBnAct(c // 2 * 4, c, 1)
        self.pool = nn.MaxPool2d(5, 1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cv1(x)
        y1 = self.pool(x)
        y2 = self.pool(y1)
        return self.cv2(torch.cat([x, y1, y2, self.pool(y2)], 1))


class Head(nn.Module):
    """Decoupled head for one level: box distances (l, t, r, b) and class logits."""

    def __init__(self, c: int, nc: int, stride: int, hidden: int):
        super().__init__()
        self.box = nn.Sequential(ConvBnAct(c, hidden, 3), ConvBnAct(hidden, hidden, 3), nn.Conv2d(hidden, 4, 1))
        self.cls = nn.Sequential(ConvBnAct(c, hidden, 3), ConvBnAct(hidden, hidden, 3), nn.Conv2d(hidden, nc, 1))
        # priors: ~1% positives, boxes start about two strides wide
        nn.init.constant_(self.cls[-1].bias, -math.log((1 - 0.01) / 0.01))
        nn.init.constant_(self.box[-1].bias, 0.5)
        self.stride = stride

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # distances in pixels: softplus keeps them positive, scaled by the stride
        return F.softplus(self.box(x)) * self.stride, self.cls(x)


class WeldDetector(nn.Module):
    def __init__(
        self, nc: int = 5, width: tuple[int, ...] = (8, 16, 32, 64, 96), head_hidden: int = 32, p2_width: int = 24
    ):
        super().__init__()
        c1, c2, c3, c4, c5 = width
        self.nc = nc
        self.stem = ConvBnAct(3, c1, 3, 2)  # /2
        self.stage2 = nn.Sequential(ConvBnAct(c1, c2, 3, 2), C2f(c2, c2, 1))  # /4
        self.stage3 = nn.Sequential(ConvBnAct(c2, c3, 3, 2), C2f(c3, c3, 2))  # /8
        self.stage4 = nn.Sequential(ConvBnAct(c3, c4, 3, 2), C2f(c4, c4, 2))  # /16
        self.stage5 = nn.Sequential(ConvBnAct(c4, c5, 3, 2), C2f(c5, c5, 1), SPPF(c5))  # /32
        # PAN neck: top-down then bottom-up
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.td4 = C2f(c5 + c4, c4, 1)
        self.td3 = C2f(c4 + c3, c3, 1)
        self.td2 = C2f(c3 + c2, p2_width, 1)
        self.down3 = ConvBnAct(c3, c3, 3, 2)
        self.bu4 = C2f(c3 + c4, c4, 1)
        self.down4 = ConvBnAct(c4, c4, 3, 2)
        self.bu5 = C2f(c4 + c5, c5, 1)
        self.heads = nn.ModuleList(
            Head(c, nc, s, hidden)
            for c, s, hidden in zip((p2_width, c3, c4, c5), STRIDES, (p2_width, head_hidden, head_hidden, head_hidden))
        )
        self.export = False

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        p2 = self.stage2(self.stem(x))
        p3 = self.stage3(p2)
        p4 = self.stage4(p3)
        p5 = self.stage5(p4)
        t4 = self.td4(torch.cat([self.up(p5), p4], 1))
        n3 = self.td3(torch.cat([self.up(t4), p3], 1))
        n2 = self.td2(torch.cat([self.up(n3), p2], 1))
        n4 = self.bu4(torch.cat([self.down3(n3), t4], 1))
        n5 = self.bu5(torch.cat([self.down4(n4), p5], 1))
        return [n2, n3, n4, n5]

    def forward(self, x: torch.Tensor):
        feats = self.features(x)
        dists, logits = [], []
        for head, f in zip(self.heads, feats):
            d, c = head(f)
            dists.append(d.flatten(2))  # [B, 4, h*w]
            logits.append(c.flatten(2))  # [B, nc, h*w]
        dist = torch.cat(dists, 2)
        logit = torch.cat(logits, 2)
        points = anchor_points(feats, STRIDES)  # [A, 2]
        if not self.export:
            return dist, logit, points
        boxes = distances_to_cxcywh(dist, points)
        return torch.cat([boxes, logit.sigmoid()], 1)


def anchor_points(feats: list[torch.Tensor], strides: tuple[int, ...]) -> torch.Tensor:
    """Centres of the grid cells in input pixels, [A, 2] as (x, y)."""
    pts = []
    for f, s in zip(feats, strides):
        h, w = f.shape[-2:]
        ys = (torch.arange(h, dtype=f.dtype, device=f.device) + 0.5) * s
        xs = (torch.arange(w, dtype=f.dtype, device=f.device) + 0.5) * s
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        pts.append(torch.stack([gx.reshape(-1), gy.reshape(-1)], 1))
    return torch.cat(pts, 0)


def distances_to_xyxy(dist: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """[B, 4, A] (l, t, r, b) distances and [A, 2] points -> [B, 4, A] x1, y1, x2, y2."""
    p = points.t().unsqueeze(0)  # [1, 2, A]
    return torch.cat([p - dist[:, :2], p + dist[:, 2:]], 1)


def distances_to_cxcywh(dist: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    p = points.t().unsqueeze(0)
    lt, rb = dist[:, :2], dist[:, 2:]
    centre = p + (rb - lt) / 2
    return torch.cat([centre, lt + rb], 1)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


if __name__ == "__main__":
    import time

    torch.set_num_threads(2)
    m = WeldDetector()
    print("params", count_parameters(m))
    x = torch.zeros(8, 3, 320, 320)
    m.train()
    t = time.time()
    d, c, p = m(x)
    (d.sum() + c.sum()).backward()
    print("train step b8", time.time() - t, d.shape, c.shape, p.shape)
    m.eval()
    m.export = True
    with torch.no_grad():
        t = time.time()
        y = m(x[:1])
        print("infer b1", time.time() - t, y.shape)
