"""Procedural generator of synthetic weld radiographs with YOLO labels.

The image is rendered from a material-thickness map, as a real radiograph is: the
base plate has a slowly varying thickness, the weld bead adds a rounded cap with
ripples, and every defect is a void or groove that removes material. Less material
lets more radiation through, so on the (negative) film a defect is darker than the
sound weld around it, and the bead is brighter than the plate.

Everything is a pure function of the seed: ``render(seed)`` always returns the same
image and labels, and a split is the seeds ``base + 0 .. base + n - 1``.

Usage:
    /usr/bin/python3 inference/training/generate.py --out inference/training/data
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

CLASS_NAMES = ["porosity", "crack", "slag_inclusion", "lack_of_fusion", "undercut"]
POROSITY, CRACK, SLAG, LACK_OF_FUSION, UNDERCUT = range(5)

# Seeds of the splits are disjoint ranges, so no image appears in two splits.
# Classic splits: one ~350x280 radiograph per seed (``Scene``; the splits 1.1.0 was trained
# and measured on, kept reproducible).
SPLITS = {"train": (1_000_000, 16000), "val": (2_000_000, 400), "test": (3_000_000, 500)}
# Realistic splits (``realistic.RealScene``): a large radiograph per seed, saved as TILE x TILE
# tiles at native resolution: (seed base, images, tiles per image, tile focus, defects).
# defects None: drawn per image (about 1 in 3 has none); True/False: forced. busy: every kind of
# distractor plus software overlays on every image (``RealScene.busy``; the splits before 2.1.0 are not).
REAL_SPLITS = {
    "real_train": (5_000_000, 700, 12, "mixed", None, False),
    "real_neg": (5_200_000, 400, 12, "mixed", False, True),  # hard negatives: no defect, all distractors
    "real_busy": (5_300_000, 400, 12, "mixed", None, True),
    "real_val": (5_500_000, 60, 4, "defects", True, False),
    "distractors_val": (5_600_000, 60, 4, "distractors", False, False),
    "busy_val": (5_700_000, 40, 6, "mixed", False, True),
    "realistic": (6_000_000, 150, 4, "defects", True, False),  # held out: only evaluate.py reads it
    "distractors": (7_000_000, 150, 4, "distractors", False, False),  # held out: defect-free, annotations and markers
}
# Held-out whole radiographs (not tiles), inspected as production inspects them (tiled + merged):
# (seed base, images, defects, busy). Saved as 16-bit PNG (2 in 3) or 8-bit PNG, full size.
FULL_SPLITS = {
    # Sizes grew in 2.2.0 (12 -> 40, 30 -> 150; the first images are the same seeds): with 30
    # defect-free images one false positive was 0.033 per image, too coarse to judge a 0.05 goal.
    "full_realistic": (6_500_000, 40, True, False),
    "full_distractors": (7_500_000, 150, False, True),
    # validation counterparts: thresholds are chosen here, never on the held-out ones above
    "full_val_realistic": (6_600_000, 40, True, False),
    "full_val_distractors": (7_600_000, 100, False, True),
}


@dataclass
class Box:
    cls: int
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass
class Bead:
    """Geometry of the horizontal weld bead: centre line and half width per column."""

    centre: np.ndarray  # (W,) y of the bead axis
    half: np.ndarray  # (W,) half width of the cap, in pixels


def gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(math.ceil(3 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur with edge padding (numpy only)."""
    if sigma < 0.2:
        return img
    k = gaussian_kernel(sigma)
    r = len(k) // 2
    h, w = img.shape
    p = np.pad(img, ((0, 0), (r, r)), mode="edge")
    out = np.zeros_like(img)
    for i, kv in enumerate(k):
        out += kv * p[:, i : i + w]
    p = np.pad(out, ((r, r), (0, 0)), mode="edge")
    out2 = np.zeros_like(img)
    for i, kv in enumerate(k):
        out2 += kv * p[i : i + h, :]
    return out2


def smooth_noise_1d(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    """Smooth random curve of length n with correlation length ~scale, range ~[-1, 1]."""
    knots = max(2, int(n / max(scale, 1.0)) + 2)
    values = rng.uniform(-1, 1, knots)
    xs = np.linspace(0, knots - 1, n)
    return np.interp(xs, np.arange(knots), values).astype(np.float32)


def smooth_noise_2d(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Low-frequency 2-D noise by bilinear upsampling of a coarse random grid."""
    gh, gw = h // cell + 2, w // cell + 2
    grid = rng.uniform(-1, 1, (gh, gw)).astype(np.float32)
    img = Image.fromarray(grid, mode="F").resize((gw * cell, gh * cell), Image.BILINEAR)
    return np.asarray(img)[:h, :w]


def stamp_disc(depth: np.ndarray, cx: float, cy: float, r: float, amount: float) -> None:
    """Spherical void: thickness loss proportional to the chord through a sphere."""
    h, w = depth.shape
    x0, x1 = max(0, int(cx - r - 2)), min(w, int(cx + r + 3))
    y0, y1 = max(0, int(cy - r - 2)), min(h, int(cy + r + 3))
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    rho2 = ((xx - cx) ** 2 + (yy - cy) ** 2) / (r * r)
    prof = np.sqrt(np.clip(1.0 - rho2, 0, None))
    # soft rim of ~0.7 px so small pores are anti-aliased
    rho = np.sqrt(rho2) * r
    rim = np.clip(r + 0.7 - rho, 0, 1)
    depth[y0:y1, x0:x1] += amount * np.maximum(prof, 0.25 * rim)


def stamp_polyline(depth: np.ndarray, pts: np.ndarray, widths: np.ndarray, amounts: np.ndarray) -> None:
    """Draw a line of Gaussian cross-section along points (N,2) with per-point width/amount."""
    h, w = depth.shape
    pad = float(widths.max()) * 2 + 2
    x0, x1 = max(0, int(pts[:, 0].min() - pad)), min(w, int(pts[:, 0].max() + pad) + 1)
    y0, y1 = max(0, int(pts[:, 1].min() - pad)), min(h, int(pts[:, 1].max() + pad) + 1)
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    acc = np.zeros_like(xx)
    # densify so gaps between samples are below half a pixel
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    total = float(seg.sum())
    n = max(2, int(total * 2.5))
    t = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.linspace(0, total, n)
    px = np.interp(s, t, pts[:, 0])
    py = np.interp(s, t, pts[:, 1])
    pw = np.interp(s, t, widths)
    pa = np.interp(s, t, amounts)
    for x, y, sw, a in zip(px, py, pw, pa):
        bx0, bx1 = int(x - 3 * sw - 1) - x0, int(x + 3 * sw + 2) - x0
        by0, by1 = int(y - 3 * sw - 1) - y0, int(y + 3 * sw + 2) - y0
        bx0, by0 = max(bx0, 0), max(by0, 0)
        if bx1 <= bx0 or by1 <= by0:
            continue
        sub_x = xx[by0:by1, bx0:bx1]
        sub_y = yy[by0:by1, bx0:bx1]
        g = a * np.exp(-((sub_x - x) ** 2 + (sub_y - y) ** 2) / (2 * sw * sw))
        np.maximum(acc[by0:by1, bx0:bx1], g, out=acc[by0:by1, bx0:bx1])
    depth[y0:y1, x0:x1] += acc


def clip_box(cls: int, x1: float, y1: float, x2: float, y2: float, w: int, h: int) -> Box | None:
    x1, x2 = max(0.0, x1), min(float(w), x2)
    y1, y2 = max(0.0, y1), min(float(h), y2)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    return Box(cls, x1, y1, x2, y2)


def polyline_box(cls: int, pts: np.ndarray, half_w: float, w: int, h: int, min_size: float = 4.0) -> Box | None:
    x1, y1 = pts.min(axis=0) - half_w
    x2, y2 = pts.max(axis=0) + half_w
    # thin lines get a minimum box extent, as an annotator would draw them
    if x2 - x1 < min_size:
        c = (x1 + x2) / 2
        x1, x2 = c - min_size / 2, c + min_size / 2
    if y2 - y1 < min_size:
        c = (y1 + y2) / 2
        y1, y2 = c - min_size / 2, c + min_size / 2
    return clip_box(cls, float(x1), float(y1), float(x2), float(y2), w, h)


class Scene:
    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        rng = self.rng
        self.w = int(rng.integers(320, 421))
        self.h = int(rng.integers(240, 321))
        w, h = self.w, self.h
        centre0 = h / 2 + rng.uniform(-0.12, 0.12) * h
        half0 = rng.uniform(0.11, 0.19) * h
        self.bead = Bead(
            centre=(centre0 + smooth_noise_1d(rng, w, w / 2) * rng.uniform(0, 0.03) * h).astype(np.float32),
            half=(half0 * (1 + 0.08 * smooth_noise_1d(rng, w, 40))).astype(np.float32),
        )
        self.depth = np.zeros((h, w), np.float32)  # material removed by defects
        self.boxes: list[Box] = []
        # Defect strength relative to the bead reinforcement; a few faint ones.
        self.defect_scale = float(rng.uniform(2.0, 3.2))

    # ---- geometry helpers -------------------------------------------------
    def thickness(self) -> np.ndarray:
        rng, w, h, bead = self.rng, self.w, self.h, self.bead
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        plate = 1.0 + 0.04 * smooth_noise_2d(rng, h, w, 64)
        d = (yy - bead.centre[None, :]) / bead.half[None, :]  # signed distance in half widths
        cap_h = rng.uniform(0.25, 0.45)
        edge_soft = rng.uniform(0.06, 0.15)
        inside = np.clip(1 - d * d, 0, None)
        cap = cap_h * np.power(inside, rng.uniform(0.35, 0.6))
        # soften the toe so the fusion line is not a perfect step
        cap = cap * (1 / (1 + np.exp((np.abs(d) - 1) / edge_soft)))
        # chevron ripples of the weld surface: phase bends with distance from the axis
        period = rng.uniform(7, 16)
        bend = rng.uniform(3, 10)
        phase = 2 * math.pi * (xx + bend * d * d * np.sign(rng.uniform(-1, 1))) / period
        ripple = rng.uniform(0.01, 0.04) * np.sin(phase) * inside
        # coarse surface irregularity of the cap
        lumps = 0.03 * smooth_noise_2d(rng, h, w, 24) * inside
        return plate + cap + ripple + lumps

    def point_in_bead(self, margin: float) -> tuple[float, float]:
        x = float(self.rng.uniform(8, self.w - 8))
        xi = int(np.clip(x, 0, self.w - 1))
        y = self.bead.centre[xi] + self.rng.uniform(-margin, margin) * self.bead.half[xi]
        return x, float(y)

    def amount(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi) * self.defect_scale)

    # ---- defects ----------------------------------------------------------
    def add_porosity(self) -> None:
        rng = self.rng
        cluster = rng.uniform() < 0.4
        cx, cy = self.point_in_bead(0.6)
        n = int(rng.integers(3, 8)) if cluster else 1
        spread = rng.uniform(6, 16)
        placed: list[tuple[float, float, float]] = []
        for _ in range(n):
            for _attempt in range(10):
                r = float(rng.uniform(2.2, 5.5) if not cluster else rng.uniform(2.0, 4.0))
                x = cx + (rng.normal(0, spread) if cluster else 0.0)
                y = cy + (rng.normal(0, spread * 0.5) if cluster else 0.0)
                if all(math.hypot(x - px, y - py) > r + pr + 1.5 for px, py, pr in placed):
                    break
            else:
                continue
            placed.append((x, y, r))
            stamp_disc(self.depth, x, y, r, self.amount(0.05, 0.09) * (r / 4.0) ** 0.5)
            box = clip_box(POROSITY, x - r, y - r, x + r, y + r, self.w, self.h)
            if box:
                self.boxes.append(box)

    def jagged_path(self, start: tuple[float, float], angle: float, length: float, jitter: float) -> np.ndarray:
        rng = self.rng
        pts = [np.array(start, np.float32)]
        a = angle
        walked = 0.0
        while walked < length:
            step = float(rng.uniform(2.0, 5.0))
            a = angle + float(rng.normal(0, jitter))
            pts.append(pts[-1] + step * np.array([math.cos(a), math.sin(a)], np.float32))
            walked += step
        return np.stack(pts)

    def add_crack(self) -> None:
        rng = self.rng
        if rng.uniform() < 0.6:  # longitudinal, along the weld axis
            x, y = self.point_in_bead(0.5)
            length = float(rng.uniform(35, 130))
            angle = float(rng.normal(0, 0.08)) + (math.pi if rng.uniform() < 0.5 else 0.0)
            pts = self.jagged_path((x, y), angle, length, 0.45)
        else:  # transverse, across the bead
            x, _ = self.point_in_bead(0)
            xi = int(np.clip(x, 0, self.w - 1))
            half = float(self.bead.half[xi])
            y = float(self.bead.centre[xi] - half * rng.uniform(0.6, 1.0))
            length = 2 * half * float(rng.uniform(0.6, 1.1))
            pts = self.jagged_path((x, y), math.pi / 2 + float(rng.normal(0, 0.15)), length, 0.45)
        width = float(rng.uniform(0.6, 1.1))
        n = len(pts)
        # cracks taper at both tips
        taper = np.sin(np.linspace(0.15, math.pi - 0.15, n)).astype(np.float32) ** 0.5
        amounts = self.amount(0.07, 0.12) * taper
        widths = width * (0.6 + 0.4 * taper)
        stamp_polyline(self.depth, pts, widths, amounts)
        box = polyline_box(CRACK, pts, width * 1.5, self.w, self.h)
        if box:
            self.boxes.append(box)

    def add_slag(self) -> None:
        rng = self.rng
        x, y = self.point_in_bead(0.65)
        length = float(rng.uniform(10, 38))
        height = float(rng.uniform(3.0, 8.0))
        rot = float(rng.normal(0, 0.2))
        n = 48
        theta = np.linspace(0, 2 * math.pi, n, endpoint=False)
        wobble = 1 + 0.25 * np.interp(theta, np.linspace(0, 2 * math.pi, 9), np.r_[rng.uniform(-1, 1, 8), 0])
        ex = (length / 2) * np.cos(theta) * wobble
        ey = (height / 2) * np.sin(theta) * wobble
        px = x + ex * math.cos(rot) - ey * math.sin(rot)
        py = y + ex * math.sin(rot) + ey * math.cos(rot)
        x0, x1 = int(px.min()) - 2, int(px.max()) + 3
        y0, y1 = int(py.min()) - 2, int(py.max()) + 3
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, self.w), min(y1, self.h)
        if x1 - x0 < 3 or y1 - y0 < 3:
            return
        # rasterise the polygon by angle lookup (star-shaped around the centre)
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        dx, dy = xx - x, yy - y
        lx = dx * math.cos(rot) + dy * math.sin(rot)
        ly = -dx * math.sin(rot) + dy * math.cos(rot)
        ang = np.mod(np.arctan2(ly / (height / 2), lx / (length / 2)), 2 * math.pi)
        rad = np.sqrt((lx / (length / 2)) ** 2 + (ly / (height / 2)) ** 2)
        limit = np.interp(ang, theta, wobble, period=2 * math.pi)
        inside = np.clip((limit - rad) * 3, 0, 1)
        texture = 0.75 + 0.25 * smooth_noise_2d(rng, y1 - y0, x1 - x0, 4)
        self.depth[y0:y1, x0:x1] += self.amount(0.05, 0.09) * inside * texture
        box = clip_box(SLAG, float(px.min()), float(py.min()), float(px.max()), float(py.max()), self.w, self.h)
        if box:
            self.boxes.append(box)

    def edge_run(self, offset: float, length: float) -> tuple[np.ndarray, int]:
        """Points along the upper (-1) or lower (+1) bead edge at `offset` half widths."""
        side = -1 if self.rng.uniform() < 0.5 else 1
        x0 = float(self.rng.uniform(4, max(5.0, self.w - length - 4)))
        xs = np.arange(x0, min(self.w - 2.0, x0 + length), 1.0, dtype=np.float32)
        xi = np.clip(xs.astype(int), 0, self.w - 1)
        ys = self.bead.centre[xi] + side * offset * self.bead.half[xi]
        return np.stack([xs, ys], axis=1), side

    def add_lack_of_fusion(self) -> None:
        rng = self.rng
        length = float(rng.uniform(40, 160))
        pts, _ = self.edge_run(float(rng.uniform(0.78, 0.92)), length)
        if len(pts) < 10:
            return
        # straight: fit a line through the edge so it does not follow the cap's wobble
        coef = np.polyfit(pts[:, 0], pts[:, 1], 1)
        pts[:, 1] = np.polyval(coef, pts[:, 0])
        width = float(rng.uniform(0.8, 1.4))
        n = len(pts)
        ends = np.clip(np.minimum(np.arange(n), np.arange(n)[::-1]) / 4.0, 0, 1).astype(np.float32)
        amounts = self.amount(0.07, 0.11) * ends * (0.85 + 0.15 * smooth_noise_1d(rng, n, 20))
        stamp_polyline(self.depth, pts, np.full(n, width, np.float32), amounts)
        box = polyline_box(LACK_OF_FUSION, pts, width * 1.5, self.w, self.h)
        if box:
            self.boxes.append(box)

    def add_undercut(self) -> None:
        rng = self.rng
        length = float(rng.uniform(30, 150))
        pts, _ = self.edge_run(float(rng.uniform(1.02, 1.12)), length)
        if len(pts) < 10:
            return
        pts[:, 1] += smooth_noise_1d(rng, len(pts), 25) * 1.0
        width = float(rng.uniform(2.0, 3.5))
        n = len(pts)
        ends = np.clip(np.minimum(np.arange(n), np.arange(n)[::-1]) / 10.0, 0, 1).astype(np.float32)
        amounts = self.amount(0.05, 0.08) * ends * (0.6 + 0.4 * np.abs(smooth_noise_1d(rng, n, 30)))
        stamp_polyline(self.depth, pts, np.full(n, width, np.float32), amounts)
        box = polyline_box(UNDERCUT, pts, width * 1.6, self.w, self.h)
        if box:
            self.boxes.append(box)

    # ---- distractors that are not defects -----------------------------------
    def add_markers(self, thickness: np.ndarray) -> None:
        """Wire image-quality indicator and lead numbers: extra material, so brighter."""
        rng, w, h, bead = self.rng, self.w, self.h, self.bead
        top = float(bead.centre.min() - bead.half.max())
        bottom = float(bead.centre.max() + bead.half.max())
        if rng.uniform() < 0.6 and top > 40:
            x = float(rng.uniform(10, w - 90))
            y = float(rng.uniform(8, top - 30))
            for i in range(int(rng.integers(4, 8))):
                xx = int(x + i * rng.uniform(8, 11))
                th = 0.12 * (1 - 0.1 * i)
                x0, x1 = xx, xx + max(1, int(3 - i * 0.3))
                thickness[int(y) : int(y + 22), x0:x1] += th
        if rng.uniform() < 0.6 and h - bottom > 30:
            x = int(rng.uniform(10, w - 60))
            y = int(rng.uniform(bottom + 6, h - 20))
            for i in range(int(rng.integers(2, 5))):
                glyph = rng.uniform() < 0.5
                gx = x + i * 11
                if glyph:
                    thickness[y : y + 14, gx : gx + 2] += 0.2
                    thickness[y : y + 2, gx : gx + 8] += 0.2
                    thickness[y + 12 : y + 14, gx : gx + 8] += 0.2
                else:
                    thickness[y : y + 14, gx : gx + 8] += 0.15
                    thickness[y + 3 : y + 11, gx + 2 : gx + 6] -= 0.15

    def render(self) -> tuple[np.ndarray, list[Box]]:
        rng = self.rng
        n_defects = int(rng.choice([0, 1, 1, 2, 2, 3, 3, 4, 5]))
        adders = [self.add_porosity, self.add_crack, self.add_slag, self.add_lack_of_fusion, self.add_undercut]
        for _ in range(n_defects):
            adders[int(rng.integers(0, len(adders)))]()
        t = self.thickness()
        self.add_markers(t)
        t = t - self.depth
        # geometric unsharpness of the source/film
        t = blur(t, float(rng.uniform(0.4, 1.3)))
        # film response: higher thickness -> brighter (negative view), S-shaped curve
        exposure = rng.uniform(-0.25, 0.25)
        gain = rng.uniform(3.0, 6.0)
        heel = np.linspace(-1, 1, self.w, dtype=np.float32)[None, :] * rng.uniform(-0.25, 0.25)
        z = gain * (t - float(np.median(t)) - 0.15) + exposure + heel
        img = 1 / (1 + np.exp(-z))
        lo, hi = rng.uniform(0.02, 0.2), rng.uniform(0.75, 0.98)
        img = lo + (hi - lo) * img
        # film grain: fine correlated noise plus signal-dependent shot noise
        grain_sigma = rng.uniform(0.008, 0.03)
        grain = blur(rng.normal(0, 1, img.shape).astype(np.float32), rng.uniform(0.5, 1.0))
        grain /= grain.std() + 1e-6
        shot = rng.normal(0, 1, img.shape).astype(np.float32) * np.sqrt(np.clip(img, 0, 1)) * rng.uniform(0.003, 0.012)
        img = np.clip(img + grain_sigma * grain + shot, 0, 1)
        return img.astype(np.float32), self.boxes


def render(seed: int) -> tuple[np.ndarray, list[Box]]:
    """Image in [0,1] float32 (H,W) and its defect boxes in pixels."""
    return Scene(seed).render()


def bit_depth_for(seed: int) -> tuple[int, str]:
    """Most images are 8-bit PNG; every 7th is 16-bit PNG and every 13th 16-bit TIFF."""
    if seed % 13 == 0:
        return 16, "tiff"
    if seed % 7 == 0:
        return 16, "png"
    return 8, "png"


def save_image(img: np.ndarray, path_stem: Path, bits: int, fmt: str) -> Path:
    if bits == 16:
        arr = np.round(img * 65535).astype(np.uint16)
        pil = Image.fromarray(arr, mode="I;16")
    else:
        pil = Image.fromarray(np.round(img * 255).astype(np.uint8), mode="L")
    path = path_stem.with_suffix(".tif" if fmt == "tiff" else ".png")
    pil.save(path)
    return path


def yolo_lines(boxes: list[Box], w: int, h: int) -> list[str]:
    lines = []
    for b in boxes:
        cx, cy = (b.x1 + b.x2) / 2 / w, (b.y1 + b.y2) / 2 / h
        bw, bh = (b.x2 - b.x1) / w, (b.y2 - b.y1) / h
        lines.append(f"{b.cls} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}")
    return lines


def write_split(out: Path, split: str, base: int, count: int, first: int = 0) -> None:
    img_dir, lbl_dir = out / split / "images", out / split / "labels"
    img_dir.mkdir(parents=True, exist_ok=True)
    lbl_dir.mkdir(parents=True, exist_ok=True)
    for i in range(first, count):
        seed = base + i
        img, boxes = render(seed)
        bits, fmt = bit_depth_for(seed)
        stem = f"weld_{seed}"
        save_image(img, img_dir / stem, bits, fmt)
        h, w = img.shape
        (lbl_dir / f"{stem}.txt").write_text("".join(line + "\n" for line in yolo_lines(boxes, w, h)))
        if (i + 1) % 500 == 0:
            print(f"{split}: {i + 1}/{count}", flush=True)


def split_dirs(out: Path, split: str) -> tuple[Path, Path]:
    """<out>/<split>/images and labels, created."""
    img_dir, lbl_dir = out / split / "images", out / split / "labels"
    img_dir.mkdir(parents=True, exist_ok=True)
    lbl_dir.mkdir(parents=True, exist_ok=True)
    return img_dir, lbl_dir


def write_real_split(out: Path, split: str, first: int = 0, stop: int | None = None) -> None:
    """Renders each image of a realistic split, windows it as serving does, and saves its tiles.

    A 16-bit radiograph (about 2 in 3 here) is windowed by the percentiles of the whole
    image before it is cut, as the serving side windows an image before tiling it. Tile k of
    seed s is ``weld_<s>_<k>.png`` (8-bit) with its YOLO label file."""
    from realistic import clip_to_tile, render_scene, tile_origins, to_grey8, TILE

    base, count, per_image, focus, defects, busy = REAL_SPLITS[split]
    img_dir, lbl_dir = split_dirs(out, split)
    end = count if stop is None else min(count, stop)
    for i in range(first, end):
        seed = base + i
        img, boxes, scene = render_scene(seed, defects, busy)
        grey = to_grey8(img, sixteen_bit=seed % 3 != 0)
        for k, (x0, y0) in enumerate(tile_origins(scene, boxes, per_image, focus if boxes or focus != "defects" else "mixed")):
            tile = grey[y0 : y0 + TILE, x0 : x0 + TILE]
            stem = f"weld_{seed}_{k}"
            Image.fromarray(tile, mode="L").save(img_dir / f"{stem}.png")
            lines = yolo_lines(clip_to_tile(boxes, x0, y0), TILE, TILE)
            (lbl_dir / f"{stem}.txt").write_text("".join(line + "\n" for line in lines))
        if (i + 1) % 50 == 0:
            print(f"{split}: {i + 1}/{end}", flush=True)


def write_full_split(out: Path, split: str, first: int = 0, stop: int | None = None) -> None:
    """Whole realistic radiographs at full size, as a user uploads them: ``weld_<seed>.png``,
    16-bit (2 in 3, windowed by the reader as serving windows) or 8-bit, with YOLO labels of the
    whole image and ``weld_<seed>.json`` (size, pixel spacing in mm)."""
    from realistic import render_scene

    base, count, defects, busy = FULL_SPLITS[split]
    img_dir, lbl_dir = split_dirs(out, split)
    end = count if stop is None else min(count, stop)
    for i in range(first, end):
        seed = base + i
        img, boxes, scene = render_scene(seed, defects, busy)
        stem = f"weld_{seed}"
        save_image(img, img_dir / stem, 16 if seed % 3 != 0 else 8, "png")
        h, w = img.shape
        (lbl_dir / f"{stem}.txt").write_text("".join(line + "\n" for line in yolo_lines(boxes, w, h)))
        (lbl_dir / f"{stem}.json").write_text(json.dumps({"width": w, "height": h, "pixelSpacingMm": round(scene.spacing, 5)}))
        if (i + 1) % 10 == 0:
            print(f"{split}: {i + 1}/{end}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "data")
    ap.add_argument("--splits", nargs="*", default=list(SPLITS), help=f"classic {list(SPLITS)}, realistic {list(REAL_SPLITS)} or whole {list(FULL_SPLITS)}")
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of each split's size to generate")
    ap.add_argument("--first", type=int, default=0, help="index in the split to start at (to extend a split or split the work)")
    ap.add_argument("--stop", type=int, help="index in the split to stop before (default: its size)")
    args = ap.parse_args()
    for split in args.splits:
        if split in REAL_SPLITS:
            write_real_split(args.out, split, args.first, args.stop)
            continue
        if split in FULL_SPLITS:
            write_full_split(args.out, split, args.first, args.stop)
            continue
        base, count = SPLITS[split]
        end = max(1, int(count * args.scale))
        write_split(args.out, split, base, end if args.stop is None else min(end, args.stop), args.first)
    (args.out / "data.yaml").write_text(
        "# Ultralytics-style dataset description\n"
        f"path: {args.out.resolve()}\ntrain: train/images\nval: val/images\ntest: test/images\n"
        f"names: {json.dumps(dict(enumerate(CLASS_NAMES)))}\n"
    )


if __name__ == "__main__":
    main()
