"""Realistic synthetic weld radiographs: what a digital radiograph of a weld holds besides the weld.

The classic generator (``generate.Scene``) draws one horizontal bead, centred, on a
~350x280 picture in the film-negative polarity. Real radiographs differ in every one of
those respects, and a detector trained on the classic images fires on what they add
(issue 9): burned-in text, lead letters, IQIs, marker lines. This module renders:

- a weld seam at any angle, straight or curved (an arc, as a circumferential weld
  projects), meandering, over the whole image;
- a pixel spacing of 0.05-0.2 mm, with the bead and every defect sized in millimetres
  (pores 0.3-3 mm, cracks 3-30 mm long, ...) and converted to pixels;
- images from 320 px up to 4096 px per side;
- both display polarities (bead brighter or darker than the plate);
- distractors that are not defects: lead letters and numbers, wire IQIs (ISO 19232-1),
  hole and step-hole IQIs (ASTM E1025, ISO 19232-2), location markers (arrows, numbered
  tape, lead lines along an edge), the part or collimator edge, burned-in text bands
  (operator, date, IDs; several fonts, sizes, places, orientations), detector artefacts
  (dead rows/columns, gain non-uniformity and panel seams, vignetting, saturation) and noise;
- about a third of the images without any defect.

``render_scene(seed)`` is a pure function of the seed (given the fonts installed: the
DejaVu TrueType fonts under /usr/share/fonts and PIL's built-in bitmap font). Large
images are not trained on whole: ``tiles(...)`` cuts 320x320 windows at native
resolution, as the serving side tiles a large image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from generate import (
    CRACK,
    LACK_OF_FUSION,
    POROSITY,
    SLAG,
    UNDERCUT,
    Box,
    blur,
    clip_box,
    polyline_box,
    smooth_noise_1d,
    smooth_noise_2d,
    stamp_disc,
    stamp_polyline,
)

TILE = 320
FONT_DIR = Path("/usr/share/fonts")
# lead is dense: a lead letter adds as much attenuation as several plate thicknesses
LEAD = 3.0


def font_files() -> list[Path]:
    """TrueType fonts installed here, in a fixed order (the render depends on them)."""
    return sorted(p for p in FONT_DIR.rglob("*.ttf") if "Math" not in p.name) if FONT_DIR.exists() else []


FONTS = font_files()


def text_mask(rng: np.random.Generator, text: str, height_px: float, bold: bool = False) -> np.ndarray:
    """Anti-aliased text as a float mask in [0, 1], about height_px tall.

    Either a TrueType font at that size, or PIL's built-in bitmap font scaled up with
    nearest neighbour (the blocky look of many acquisition programs' overlays)."""
    height_px = max(6.0, height_px)
    use_bitmap = not FONTS or rng.uniform() < 0.3
    if use_bitmap:
        font = ImageFont.load_default()
        x0, y0, x1, y1 = font.getbbox(text)
        img = Image.new("L", (x1 + 2, y1 + 2), 0)
        ImageDraw.Draw(img).text((1, 1), text, fill=255, font=font)
        scale = max(1.0, height_px / max(1, y1 - y0))
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.NEAREST)
    else:
        candidates = [f for f in FONTS if ("Bold" in f.name) == bold] or FONTS
        font = ImageFont.truetype(str(candidates[int(rng.integers(0, len(candidates)))]), max(6, round(height_px)))
        x0, y0, x1, y1 = font.getbbox(text)
        img = Image.new("L", (x1 - x0 + 4, y1 - y0 + 4), 0)
        ImageDraw.Draw(img).text((2 - x0, 2 - y0), text, fill=255, font=font)
    return np.asarray(img, np.float32) / 255.0


def paste_max(canvas: np.ndarray, mask: np.ndarray, x: int, y: int, value: float) -> tuple[int, int, int, int] | None:
    """canvas[y:, x:] = max(canvas, mask * value) where it fits; returns the pasted box."""
    h, w = canvas.shape
    mh, mw = mask.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + mw), min(h, y + mh)
    if x1 <= x0 or y1 <= y0:
        return None
    sub = mask[y0 - y : y1 - y, x0 - x : x1 - x] * value
    np.maximum(canvas[y0:y1, x0:x1], sub, out=canvas[y0:y1, x0:x1])
    return x0, y0, x1, y1


def rotate_mask(mask: np.ndarray, degrees: float) -> np.ndarray:
    return np.asarray(Image.fromarray(mask, mode="F").rotate(degrees, resample=Image.BILINEAR, expand=True))


def random_id(rng: np.random.Generator, pattern: str) -> str:
    """'A' -> a capital letter, '9' -> a digit, anything else kept."""
    out = []
    for ch in pattern:
        if ch == "A":
            out.append(chr(ord("A") + int(rng.integers(0, 26))))
        elif ch == "9":
            out.append(str(int(rng.integers(0, 10))))
        else:
            out.append(ch)
    return "".join(out)


def annotation_line(rng: np.random.Generator) -> str:
    """One line of the kind acquisition software burns in: operator, date, job, technique.

    Names are random letters (no real person's name)."""
    kinds = [
        lambda: f"OP: {random_id(rng, 'A. AAAAAA')}",
        lambda: f"{2015 + int(rng.integers(0, 12))}-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d} "
        f"{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}",
        lambda: f"{int(rng.integers(1, 29)):02d}/{int(rng.integers(1, 13)):02d}/{2015 + int(rng.integers(0, 12))}",
        lambda: random_id(rng, "JOB 9999-AA-999"),
        lambda: random_id(rng, "WELD W99 SEG 9"),
        lambda: random_id(rng, "ISO 17636-2 B  SFD 999mm"),
        lambda: f"{int(rng.integers(80, 300))} kV  {rng.uniform(0.5, 10):.1f} mA  {int(rng.integers(2, 90))} s",
        lambda: random_id(rng, "PIPE 99\" SCH 99  WT 99.9"),
        lambda: random_id(rng, "S/N AA99999999"),
        lambda: random_id(rng, "IMG_99999.dcm"),
        lambda: f"Ir-192 {int(rng.integers(10, 100))} Ci",
        lambda: random_id(rng, "LOC 9-9  FILM 99 OF 99"),
        lambda: f"px {rng.choice([0.05, 0.075, 0.1, 0.127, 0.139, 0.15, 0.2])} mm  gain {int(rng.integers(1, 9))}",
    ]
    return kinds[int(rng.integers(0, len(kinds)))]()


@dataclass
class Seam:
    """The weld's centre line in the image, straight or an arc, with a meander.

    (u, d) are weld coordinates in pixels: u along the seam, d across it (signed)."""

    straight: bool
    x0: float
    y0: float
    angle: float  # straight: direction; arc: angle of the point (x0, y0) seen from the centre
    radius: float  # arc radius (unused when straight)
    u_grid: np.ndarray
    wobble: np.ndarray  # offset of the centre line across the seam, per u_grid
    half: np.ndarray  # half width of the bead cap in pixels, per u_grid

    def centre(self) -> tuple[float, float]:
        """Centre of the arc."""
        return self.x0 - self.radius * math.cos(self.angle), self.y0 - self.radius * math.sin(self.angle)

    def coords(self, xx: np.ndarray, yy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(u, d) of pixels, d measured from the meandering centre line."""
        if self.straight:
            c, s = math.cos(self.angle), math.sin(self.angle)
            u = (xx - self.x0) * c + (yy - self.y0) * s
            d = -(xx - self.x0) * s + (yy - self.y0) * c
        else:
            cx, cy = self.centre()
            dx, dy = xx - cx, yy - cy
            rho = np.sqrt(dx * dx + dy * dy)
            phi = np.arctan2(dy, dx) - self.angle
            phi = (phi + math.pi) % (2 * math.pi) - math.pi
            u = self.radius * phi
            d = rho - self.radius
        return u, d - np.interp(u, self.u_grid, self.wobble)

    def point(self, u: float | np.ndarray, d: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image (x, y) of weld coordinates (u, d)."""
        u = np.asarray(u, np.float32)
        d = np.asarray(d, np.float32) + np.interp(u, self.u_grid, self.wobble)
        if self.straight:
            c, s = math.cos(self.angle), math.sin(self.angle)
            return self.x0 + u * c - d * s, self.y0 + u * s + d * c
        cx, cy = self.centre()
        phi = self.angle + u / self.radius
        rho = self.radius + d
        return cx + rho * np.cos(phi), cy + rho * np.sin(phi)

    def half_at(self, u: float) -> float:
        return float(np.interp(u, self.u_grid, self.half))

    def tangent(self, u: float) -> float:
        """Direction of the seam at u (radians, image axes)."""
        x1, y1 = self.point(u - 1.0, 0.0)
        x2, y2 = self.point(u + 1.0, 0.0)
        return math.atan2(float(y2 - y1), float(x2 - x1))


@dataclass
class RealScene:
    seed: int
    with_defects: bool | None = None  # None: drawn (about 2 in 3 images have defects)
    # busy: every kind of distractor on the image, software overlays (ROI outlines, rulers,
    # measurement lines, crosshairs), several text blocks and detector artefacts. The splits
    # 2.0.0 was measured on are rendered with busy=False, whose random stream is unchanged.
    busy: bool = False
    rng: np.random.Generator = field(init=False)

    def __post_init__(self) -> None:
        rng = self.rng = np.random.default_rng(self.seed)
        self.spacing = float(rng.uniform(0.05, 0.2))  # mm per pixel
        # sizes: log-uniform long side 320..4096 px, a strip along the weld or near-square
        long_side = int(round(math.exp(rng.uniform(math.log(400), math.log(4096)))))
        short_side = int(np.clip(long_side * rng.uniform(0.25, 1.0), TILE, 2048))
        self.w, self.h = (long_side, short_side) if rng.uniform() < 0.75 else (short_side, long_side)
        self.wall_mm = float(rng.uniform(5, 25))
        self.depth = np.zeros((self.h, self.w), np.float32)  # material removed by defects
        self.extra = np.zeros((self.h, self.w), np.float32)  # material added (IQIs, lead)
        self.boxes: list[Box] = []
        self.anchors: list[tuple[float, float]] = []  # where distractors are, to centre tiles on them
        self.hidden = np.zeros((self.h, self.w), bool)  # pixels where nothing of the part shows (air, bands, frames)
        self.defect_scale = float(rng.uniform(1.6, 3.2))
        if self.with_defects is None:
            self.with_defects = bool(rng.uniform() >= 0.35)
        self.seam = self.make_seam()

    def chance(self, p: float) -> bool:
        """rng.uniform() < p; always True on a busy image (the draw is made either way, so the
        rest of the random stream does not depend on `busy`)."""
        return bool(self.rng.uniform() < p) or self.busy

    # ---- geometry ---------------------------------------------------------------
    def mm(self, lo: float, hi: float, log: bool = False) -> float:
        """A size drawn in mm, returned in pixels."""
        v = math.exp(self.rng.uniform(math.log(lo), math.log(hi))) if log else self.rng.uniform(lo, hi)
        return float(v / self.spacing)

    def make_seam(self) -> Seam:
        rng, w, h = self.rng, self.w, self.h
        # bead of 8-18 mm; it must fit the image with plate on both sides
        half_mm = rng.uniform(4, 9)
        half_px = min(half_mm / self.spacing, 0.3 * min(w, h))
        straight = rng.uniform() < 0.7
        diag = math.hypot(w, h)
        x0 = w / 2 + rng.uniform(-0.25, 0.25) * w
        y0 = h / 2 + rng.uniform(-0.25, 0.25) * h
        if rng.uniform() < 0.5:  # mostly along the long side, as exposures are framed
            angle = (0.0 if w >= h else math.pi / 2) + float(rng.normal(0, 0.15))
        else:
            angle = float(rng.uniform(0, math.pi))
        radius = 0.0
        if not straight:
            radius = float(diag * math.exp(rng.uniform(math.log(0.5), math.log(4.0))))
            # the point (x0, y0) lies on the arc; the arc's normal there points away from the centre
            angle = float(rng.uniform(0, 2 * math.pi))
        span = diag * 1.5 + 10
        u_grid = np.arange(-span, span + 1, 1.0, dtype=np.float32)
        n = len(u_grid)
        wobble = smooth_noise_1d(rng, n, max(50.0, 40 / self.spacing)) * rng.uniform(0, 0.4) * half_px
        half = half_px * (1 + 0.08 * smooth_noise_1d(rng, n, max(20.0, 8 / self.spacing)))
        return Seam(straight, float(x0), float(y0), float(angle), radius, u_grid, wobble, half.astype(np.float32))

    def weld_point(self, margin: float, border: float = 8) -> tuple[float, float, float, float] | None:
        """(u, d, x, y) of a random point in the bead (|d| <= margin half widths) inside the image."""
        for _ in range(30):
            u = float(self.rng.uniform(self.seam.u_grid[0], self.seam.u_grid[-1]))
            d = float(self.rng.uniform(-margin, margin)) * self.seam.half_at(u)
            x, y = self.seam.point(u, d)
            if border <= x < self.w - border and border <= y < self.h - border:
                return u, d, float(x), float(y)
        return None

    def thickness(self, u: np.ndarray, d: np.ndarray) -> np.ndarray:
        rng, seam = self.rng, self.seam
        plate = 1.0 + 0.04 * smooth_noise_2d(rng, self.h, self.w, max(32, int(12 / self.spacing)))
        half = np.interp(u, seam.u_grid, seam.half)
        dn = d / half
        cap_h = rng.uniform(0.15, 0.45)
        edge_soft = rng.uniform(0.06, 0.15)
        inside = np.clip(1 - dn * dn, 0, None)
        cap = cap_h * np.power(inside, rng.uniform(0.35, 0.6))
        cap = cap * (1 / (1 + np.exp(np.clip((np.abs(dn) - 1) / edge_soft, -30, 30))))
        period = self.mm(1.2, 2.8)
        bend = rng.uniform(0.2, 0.8) * float(seam.half.mean())
        phase = 2 * math.pi * (u + bend * dn * dn * np.sign(rng.uniform(-1, 1))) / period
        ripple = rng.uniform(0.01, 0.04) * np.sin(phase) * inside
        lumps = 0.03 * smooth_noise_2d(rng, self.h, self.w, max(12, int(4 / self.spacing))) * inside
        return plate + cap + ripple + lumps

    def amount(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi) * self.defect_scale)

    # ---- defects (sizes in mm) -----------------------------------------------------
    def add_porosity(self) -> None:
        rng = self.rng
        at = self.weld_point(0.6)
        if at is None:
            return
        _, _, cx, cy = at
        cluster = rng.uniform() < 0.4
        n = int(rng.integers(3, 9)) if cluster else 1
        spread = self.mm(1.0, 4.0)
        along = self.seam.tangent(at[0])
        # a pore narrower than ~2 px is not visible at this spacing: the smallest drawn is the larger of 0.3 mm and 2.2 px
        lo_mm = max(0.3, 2.2 * self.spacing)
        placed: list[tuple[float, float, float]] = []
        for _ in range(n):
            for _attempt in range(10):
                r = self.mm(lo_mm, max(lo_mm * 1.2, 1.5 if cluster else 3.0), log=True) / 2
                a, b = (rng.normal(0, spread), rng.normal(0, spread * 0.4)) if cluster else (0.0, 0.0)
                x = cx + a * math.cos(along) - b * math.sin(along)
                y = cy + a * math.sin(along) + b * math.cos(along)
                if all(math.hypot(x - px, y - py) > r + pr + 1.5 for px, py, pr in placed):
                    break
            else:
                continue
            placed.append((x, y, r))
            size = min(1.0, 2 * r * self.spacing / 1.5)  # deeper voids are darker, up to ~1.5 mm
            stamp_disc(self.depth, x, y, r, self.amount(0.05, 0.09) * (0.45 + 0.55 * size))
            box = clip_box(POROSITY, x - r, y - r, x + r, y + r, self.w, self.h)
            if box:
                self.boxes.append(box)

    def jagged_uv(self, u: float, d: float, angle: float, length: float, jitter: float) -> np.ndarray:
        """A jagged path in weld coordinates from (u, d) heading `angle` (0 = along the seam)."""
        rng = self.rng
        pts = [(u, d)]
        walked = 0.0
        step_lo, step_hi = 2.0, max(3.0, min(8.0, length / 12))
        while walked < length:
            step = float(rng.uniform(step_lo, step_hi))
            a = angle + float(rng.normal(0, jitter))
            pts.append((pts[-1][0] + step * math.cos(a), pts[-1][1] + step * math.sin(a)))
            walked += step
        uv = np.array(pts, np.float32)
        x, y = self.seam.point(uv[:, 0], uv[:, 1])
        return np.stack([x, y], 1).astype(np.float32)

    def add_crack(self) -> None:
        rng = self.rng
        if rng.uniform() < 0.6:  # longitudinal
            at = self.weld_point(0.5)
            if at is None:
                return
            u, d, _, _ = at
            length = self.mm(3, 30, log=True)
            pts = self.jagged_uv(u, d, float(rng.normal(0, 0.08)) + (math.pi if rng.uniform() < 0.5 else 0.0), length, 0.45)
        else:  # transverse
            at = self.weld_point(0.0)
            if at is None:
                return
            u = at[0]
            half = self.seam.half_at(u)
            d = -half * float(rng.uniform(0.6, 1.0))
            pts = self.jagged_uv(u, d, math.pi / 2 + float(rng.normal(0, 0.15)), 2 * half * float(rng.uniform(0.6, 1.1)), 0.45)
        width = max(0.55, self.mm(0.05, 0.2))
        n = len(pts)
        taper = np.sin(np.linspace(0.15, math.pi - 0.15, n)).astype(np.float32) ** 0.5
        stamp_polyline(self.depth, pts, width * (0.6 + 0.4 * taper), self.amount(0.07, 0.12) * taper)
        box = polyline_box(CRACK, pts, width * 1.5, self.w, self.h)
        if box:
            self.boxes.append(box)

    def add_slag(self) -> None:
        rng = self.rng
        at = self.weld_point(0.65)
        if at is None:
            return
        u, _, x, y = at
        length = max(4.0, self.mm(1, 8, log=True))
        height = max(2.0, min(length * 0.7, self.mm(0.4, 2.0)))
        rot = self.seam.tangent(u) + float(rng.normal(0, 0.2))
        n = 48
        theta = np.linspace(0, 2 * math.pi, n, endpoint=False)
        wobble = 1 + 0.25 * np.interp(theta, np.linspace(0, 2 * math.pi, 9), np.r_[rng.uniform(-1, 1, 8), 0])
        ex = (length / 2) * np.cos(theta) * wobble
        ey = (height / 2) * np.sin(theta) * wobble
        px = x + ex * math.cos(rot) - ey * math.sin(rot)
        py = y + ex * math.sin(rot) + ey * math.cos(rot)
        x0, x1 = max(int(px.min()) - 2, 0), min(int(px.max()) + 3, self.w)
        y0, y1 = max(int(py.min()) - 2, 0), min(int(py.max()) + 3, self.h)
        if x1 - x0 < 3 or y1 - y0 < 3:
            return
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        dx, dy = xx - x, yy - y
        lx = dx * math.cos(rot) + dy * math.sin(rot)
        ly = -dx * math.sin(rot) + dy * math.cos(rot)
        ang = np.mod(np.arctan2(ly / (height / 2), lx / (length / 2)), 2 * math.pi)
        rad = np.sqrt((lx / (length / 2)) ** 2 + (ly / (height / 2)) ** 2)
        limit = np.interp(ang, theta, wobble, period=2 * math.pi)
        inside = np.clip((limit - rad) * 3, 0, 1)
        texture = 0.75 + 0.25 * smooth_noise_2d(rng, y1 - y0, x1 - x0, max(2, int(0.6 / self.spacing)))
        self.depth[y0:y1, x0:x1] += self.amount(0.05, 0.09) * inside * texture
        box = clip_box(SLAG, float(px.min()), float(py.min()), float(px.max()), float(py.max()), self.w, self.h)
        if box:
            self.boxes.append(box)

    def edge_run(self, offset: float, length: float) -> np.ndarray | None:
        """Points along one bead edge at `offset` half widths, `length` px long, in image pixels."""
        at = self.weld_point(0.0)
        if at is None:
            return None
        side = -1 if self.rng.uniform() < 0.5 else 1
        us = np.arange(at[0] - length / 2, at[0] + length / 2, 1.0, dtype=np.float32)
        ds = side * offset * np.interp(us, self.seam.u_grid, self.seam.half)
        x, y = self.seam.point(us, ds)
        inside = (x >= 2) & (x < self.w - 2) & (y >= 2) & (y < self.h - 2)
        if inside.sum() < 10:
            return None
        return np.stack([x[inside], y[inside]], 1).astype(np.float32)

    def add_lack_of_fusion(self) -> None:
        rng = self.rng
        pts = self.edge_run(float(rng.uniform(0.78, 0.92)), self.mm(5, 40, log=True))
        if pts is None:
            return
        width = max(0.6, self.mm(0.1, 0.3))
        n = len(pts)
        ends = np.clip(np.minimum(np.arange(n), np.arange(n)[::-1]) / 4.0, 0, 1).astype(np.float32)
        amounts = self.amount(0.07, 0.11) * ends * (0.85 + 0.15 * smooth_noise_1d(rng, n, 20))
        stamp_polyline(self.depth, pts, np.full(n, width, np.float32), amounts)
        box = polyline_box(LACK_OF_FUSION, pts, width * 1.5, self.w, self.h)
        if box:
            self.boxes.append(box)

    def add_undercut(self) -> None:
        rng = self.rng
        pts = self.edge_run(float(rng.uniform(1.02, 1.12)), self.mm(5, 40, log=True))
        if pts is None:
            return
        width = max(1.2, self.mm(0.3, 0.7))
        n = len(pts)
        ends = np.clip(np.minimum(np.arange(n), np.arange(n)[::-1]) / 10.0, 0, 1).astype(np.float32)
        amounts = self.amount(0.05, 0.08) * ends * (0.6 + 0.4 * np.abs(smooth_noise_1d(rng, n, 30)))
        stamp_polyline(self.depth, pts, np.full(n, width, np.float32), amounts)
        box = polyline_box(UNDERCUT, pts, width * 1.6, self.w, self.h)
        if box:
            self.boxes.append(box)

    # ---- distractors in the material (before the detector) ------------------------
    def plate_point(self, min_off: float, max_off: float) -> tuple[float, float, float] | None:
        """(x, y, seam direction) beside the bead, between min_off and max_off half widths off the axis."""
        for _ in range(30):
            u = float(self.rng.uniform(self.seam.u_grid[0], self.seam.u_grid[-1]))
            side = -1 if self.rng.uniform() < 0.5 else 1
            d = side * float(self.rng.uniform(min_off, max_off)) * self.seam.half_at(u)
            x, y = self.seam.point(u, d)
            if 20 <= x < self.w - 20 and 20 <= y < self.h - 20:
                return float(x), float(y), self.seam.tangent(u)
        return None

    def lead_text(self, text: str, x: float, y: float, height_px: float, degrees: float) -> None:
        mask = rotate_mask(text_mask(self.rng, text, height_px, bold=self.rng.uniform() < 0.7), degrees)
        mask = blur(mask, 0.6)
        ox, oy = int(x - mask.shape[1] / 2), int(y - mask.shape[0] / 2)
        if paste_max(self.extra, mask, ox, oy, LEAD * float(self.rng.uniform(0.5, 1.0))):
            self.anchors.append((x, y))

    def add_lead_letters(self) -> None:
        """Identification and location letters/numbers placed on the part."""
        rng = self.rng
        for _ in range(int(rng.integers(1, 5))):
            at = self.plate_point(1.3, 4.0) if rng.uniform() < 0.85 else self.plate_point(0.0, 1.0)
            if at is None:
                return
            x, y, along = at
            text = random_id(rng, str(rng.choice(["9", "99", "A", "A9", "AA", "9A", "A99", "AA-9", "999"])))
            deg = -math.degrees(along) + float(rng.choice([0, 0, 90, 180])) + float(rng.normal(0, 8))
            self.lead_text(text, x, y, self.mm(5, 12), deg)

    def add_location_tape(self) -> None:
        """Numbered lead tape along the weld: numbers every 25-100 mm and tick marks."""
        rng = self.rng
        offset = float(rng.uniform(1.4, 3.0)) * (-1 if rng.uniform() < 0.5 else 1)
        pitch = self.mm(25, 100)
        tick = self.mm(2, 5)
        us = np.arange(self.seam.u_grid[0], self.seam.u_grid[-1], max(8.0, pitch / 5), dtype=np.float32)
        start = int(rng.integers(0, 10))
        height = self.mm(4, 8)
        for k, u in enumerate(us):
            half = self.seam.half_at(float(u))
            x, y = self.seam.point(u, offset * half)
            x, y = float(x), float(y)
            if not (0 <= x < self.w and 0 <= y < self.h):
                continue
            ang = self.seam.tangent(float(u))
            nx, ny = -math.sin(ang), math.cos(ang)
            t = np.array([[x, y], [x + nx * tick * (2 if k % 5 == 0 else 1), y + ny * tick * (2 if k % 5 == 0 else 1)]], np.float32)
            stamp_polyline(self.extra, t, np.full(2, max(0.7, self.mm(0.3, 0.6)), np.float32), np.full(2, LEAD * 0.5, np.float32))
            if k % 5 == 0:
                tx, ty = x + nx * (tick * 2 + height) * math.copysign(1, offset), y + ny * (tick * 2 + height) * math.copysign(1, offset)
                self.lead_text(str(start + k // 5), tx, ty, height, -math.degrees(ang))

    def add_arrow(self) -> None:
        at = self.plate_point(1.3, 3.5)
        if at is None:
            return
        x, y, along = at
        size = self.mm(5, 12)
        a = along + float(self.rng.choice([0, math.pi / 2, math.pi, -math.pi / 2]))
        img = Image.new("L", (int(size * 2.4) + 4, int(size * 2.4) + 4), 0)
        c = img.width / 2
        pts = [(-1.0, -0.25), (0.2, -0.25), (0.2, -0.6), (1.0, 0.0), (0.2, 0.6), (0.2, 0.25), (-1.0, 0.25)]
        poly = [(c + size * (px * math.cos(a) - py * math.sin(a)), c + size * (px * math.sin(a) + py * math.cos(a))) for px, py in pts]
        ImageDraw.Draw(img).polygon(poly, fill=255)
        mask = blur(np.asarray(img, np.float32) / 255.0, 0.6)
        if paste_max(self.extra, mask, int(x - c), int(y - c), LEAD * 0.8):
            self.anchors.append((x, y))

    def add_wire_iqi(self) -> None:
        """ISO 19232-1: 7 parallel wires in a plastic strip, laid across the weld, with lead letters."""
        rng = self.rng
        at = self.weld_point(0.2, border=0)
        if at is None:
            return
        u, _, x, y = at
        along = self.seam.tangent(u)
        across = along + math.pi / 2 + float(rng.normal(0, 0.05))
        if rng.uniform() < 0.25:  # some are laid on the plate, parallel to the weld
            at2 = self.plate_point(2.0, 4.0)
            if at2 is None:
                return
            x, y, along = at2
            across = along + float(rng.normal(0, 0.05))
        first = int(rng.integers(1, 13))  # ISO wire number: diameter 3.2 mm * 10**(-(n-1)/10)
        wire_len = self.mm(25, 50)
        pitch = self.mm(3.5, 5.5)
        ux, uy = math.cos(across), math.sin(across)  # along the wires
        px_, py_ = -uy, ux  # across the wires
        for i in range(7):
            dia_mm = 3.2 * 10 ** (-(first + i - 1) / 10)
            r = max(0.5, dia_mm / self.spacing / 2)
            off = (i - 3) * pitch
            cx, cy = x + px_ * off, y + py_ * off
            t = np.linspace(-wire_len / 2, wire_len / 2, max(2, int(wire_len / 4)), dtype=np.float32)
            line = np.stack([cx + ux * t, cy + uy * t], 1).astype(np.float32)
            # a cylinder adds a chord of steel: as strong as the wire is thick relative to the wall
            amt = min(1.5, 0.6 * dia_mm / self.wall_mm * 4) + 0.02
            stamp_polyline(self.extra, line, np.full(len(line), r * 0.8, np.float32), np.full(len(line), amt, np.float32))
        self.anchors.append((x, y))
        # the letters on the strip
        lx, ly = x + ux * (wire_len / 2 + self.mm(4, 6)), y + uy * (wire_len / 2 + self.mm(4, 6))
        self.lead_text(random_id(rng, str(rng.choice(["9 ISO 99", "99FE", "ISO99", "9 FE EN"]))), lx, ly, self.mm(2.5, 4), -math.degrees(across) + 90)

    def add_hole_iqi(self) -> None:
        """ASTM E1025 plaque (1T/2T/4T holes) or ISO 19232-2 step-hole IQI, on the plate."""
        rng = self.rng
        at = self.plate_point(1.5, 4.0)
        if at is None:
            return
        x, y, along = at
        step_hole = rng.uniform() < 0.4
        t_mm = float(rng.uniform(0.25, 1.0))
        amount = float(rng.uniform(0.03, 0.15))
        if step_hole:
            steps = int(rng.integers(3, 7))
            sw = self.mm(8, 12)
            wpx, hpx = sw * steps, sw
        else:
            wpx, hpx = self.mm(30, 40), self.mm(12, 18)
        img = np.zeros((int(hpx) + 6, int(wpx) + 6), np.float32)
        if step_hole:
            for s in range(steps):
                img[3 : 3 + int(hpx), 3 + int(s * sw) : 3 + int((s + 1) * sw)] = (s + 1) / steps
        else:
            img[3 : 3 + int(hpx), 3 : 3 + int(wpx)] = 1.0
        holes = (
            [(3 + (s + 0.5) * sw, 3 + hpx / 2, max(1.0, (0.25 + 0.25 * s) / self.spacing / 2)) for s in range(steps)]
            if step_hole
            else [
                (3 + wpx * 0.55, 3 + hpx * 0.3, max(1.0, t_mm / self.spacing / 2)),
                (3 + wpx * 0.8, 3 + hpx * 0.3, max(1.0, 2 * t_mm / self.spacing / 2)),
                (3 + wpx * 0.7, 3 + hpx * 0.72, max(1.0, 4 * t_mm / self.spacing / 2)),
            ]
        )
        yy, xx = np.mgrid[0 : img.shape[0], 0 : img.shape[1]].astype(np.float32)
        for hx, hy, hr in holes:
            img[(xx - hx) ** 2 + (yy - hy) ** 2 <= hr * hr] = 0.0
        mask = blur(rotate_mask(img, -math.degrees(along) + float(rng.normal(0, 10))), 0.6)
        ox, oy = int(x - mask.shape[1] / 2), int(y - mask.shape[0] / 2)
        if paste_max(self.extra, mask, ox, oy, amount):
            self.anchors.append((x, y))
        if not step_hole:  # lead identification numbers on the plaque
            self.lead_text(random_id(rng, str(rng.choice(["99", "9", "999"]))), x - wpx * 0.25, y, hpx * 0.45, -math.degrees(along))

    def add_lead_line(self) -> None:
        """A lead marker line or wire along an image edge (or across the image)."""
        rng = self.rng
        horizontal = rng.uniform() < 0.5
        size = self.h if horizontal else self.w
        pos = float(rng.uniform(0.02, 0.12) * size) if rng.uniform() < 0.7 else float(rng.uniform(0.1, 0.9) * size)
        if rng.uniform() < 0.5:
            pos = size - pos
        length = self.w if horizontal else self.h
        a, b = float(rng.uniform(-0.1, 0.3)) * length, float(rng.uniform(0.7, 1.1)) * length
        tilt = float(rng.normal(0, 0.02)) * length
        if horizontal:
            pts = np.array([[a, pos], [b, pos + tilt]], np.float32)
        else:
            pts = np.array([[pos, a], [pos + tilt, b]], np.float32)
        width = max(0.7, self.mm(0.3, 1.5))
        stamp_polyline(self.extra, pts, np.full(2, width, np.float32), np.full(2, LEAD * float(rng.uniform(0.2, 1.0)), np.float32))
        for f in (0.25, 0.5, 0.75):
            self.anchors.append(tuple(pts[0] + f * (pts[1] - pts[0])))

    def part_edge(self, t: np.ndarray) -> np.ndarray:
        """The plate ends or a cut-out: beyond a straight line there is no material (air)."""
        rng = self.rng
        a = float(rng.uniform(0, 2 * math.pi))
        yy, xx = np.mgrid[0 : self.h, 0 : self.w].astype(np.float32)
        nx, ny = math.cos(a), math.sin(a)
        proj = (xx - self.w / 2) * nx + (yy - self.h / 2) * ny
        limit = float(np.abs(proj).max()) * float(rng.uniform(0.6, 0.95))
        air = np.clip((proj - limit) / 1.5, 0, 1)
        self.hidden |= air > 0.5
        if air.max() > 0:
            ys, xs = np.nonzero((proj > limit - 1) & (proj < limit + 1))
            if len(xs):
                k = int(rng.integers(0, len(xs)))
                self.anchors.append((float(xs[k]), float(ys[k])))
        return t * (1 - air)

    # ---- after the detector: artefacts and burned-in text ---------------------------
    def detector_artefacts(self, img: np.ndarray) -> np.ndarray:
        rng, h, w = self.rng, self.h, self.w
        if rng.uniform() < 0.6:  # per-column gain (readout amplifiers) and panel seams
            img = img * (1 + rng.normal(0, rng.uniform(0.002, 0.012), w).astype(np.float32))[None, :]
            if rng.uniform() < 0.5:
                sx = int(rng.integers(w // 4, 3 * w // 4))
                sy = int(rng.integers(h // 4, 3 * h // 4))
                img[:, :sx] *= float(1 + rng.normal(0, 0.02))
                img[:sy, :] *= float(1 + rng.normal(0, 0.02))
        if rng.uniform() < 0.5:  # gain non-uniformity
            img = img * (1 + rng.uniform(0.02, 0.08) * smooth_noise_2d(rng, h, w, max(64, min(h, w) // 3)))
        if rng.uniform() < 0.5:  # vignetting
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
            img = img * (1 - rng.uniform(0.05, 0.3) * r2 / 2)
        if rng.uniform() < 0.3:  # over-exposure: the bright end saturates
            img = img * rng.uniform(1.05, 1.3)
        for _ in range(int(rng.choice([0, 0, 0, 1, 1, 2, 3])) + (1 if self.busy else 0)):  # dead or stuck rows/columns
            value = float(rng.choice([0.0, 1.0, rng.uniform(0, 1)]))
            width = int(rng.integers(1, 3))
            if rng.uniform() < 0.5:
                c = int(rng.integers(0, w - width))
                img[:, c : c + width] = value if rng.uniform() < 0.6 else img[:, c : c + width] * rng.uniform(0.5, 1.5)
                self.anchors.append((c, float(rng.uniform(0, h))))
            else:
                r = int(rng.integers(0, h - width))
                img[r : r + width, :] = value if rng.uniform() < 0.6 else img[r : r + width, :] * rng.uniform(0.5, 1.5)
                self.anchors.append((float(rng.uniform(0, w)), r))
        if rng.uniform() < 0.3:  # clusters of dead pixels
            for _ in range(int(rng.integers(1, 6))):
                cx, cy = int(rng.integers(0, w - 3)), int(rng.integers(0, h - 3))
                img[cy : cy + int(rng.integers(1, 4)), cx : cx + int(rng.integers(1, 4))] = float(rng.choice([0.0, 1.0]))
                self.anchors.append((cx, cy))
        if rng.uniform() < 0.3:  # unexposed frame: the panel or film edge
            m = int(rng.integers(2, 30))
            side = int(rng.integers(0, 4))
            v = float(rng.choice([0.0, 1.0, rng.uniform(0, 1)]))
            frame = [np.s_[:m, :], np.s_[-m:, :], np.s_[:, :m], np.s_[:, -m:]][side]
            img[frame] = v
            self.hidden[frame] = True
        return img

    def burned_in_text(self, img: np.ndarray) -> np.ndarray:
        """Text the acquisition software writes into the pixels: bands, corner blocks, loose lines."""
        rng, h, w = self.rng, self.h, self.w
        for _ in range(int(rng.choice([0, 1, 1, 2, 2, 3]))):
            lines = [annotation_line(rng) for _ in range(int(rng.integers(1, 4)))]
            height = float(np.clip(math.exp(rng.uniform(math.log(9), math.log(60))), 8, min(h, w) / 6))
            masks = [text_mask(rng, line, height, bold=rng.uniform() < 0.4) for line in lines]
            block_w = max(m.shape[1] for m in masks)
            block_h = sum(m.shape[0] for m in masks) + int(height * 0.3) * (len(masks) - 1)
            block = np.zeros((block_h, block_w), np.float32)
            yy = 0
            for m in masks:
                block[yy : yy + m.shape[0], : m.shape[1]] = m
                yy += m.shape[0] + int(height * 0.3)
            if rng.uniform() < 0.2:
                block = np.rot90(block, 1 if rng.uniform() < 0.5 else 3).copy()
            bh, bw = block.shape
            ink = float(rng.choice([1.0, 0.0, rng.uniform(0.6, 1.0), rng.uniform(0, 0.3)]))
            band = rng.uniform() < 0.5
            place = int(rng.integers(0, 6))  # top, bottom, 4 corners / anywhere
            pad = int(rng.integers(2, 12))
            if place == 0:
                x, y = int(rng.integers(0, max(1, w - bw))), pad
            elif place == 1:
                x, y = int(rng.integers(0, max(1, w - bw))), h - bh - pad
            elif place == 2:
                x, y = pad, int(rng.integers(0, max(1, h - bh)))
            elif place == 3:
                x, y = w - bw - pad, int(rng.integers(0, max(1, h - bh)))
            else:
                x, y = int(rng.integers(0, max(1, w - bw))), int(rng.integers(0, max(1, h - bh)))
            if band:
                bg = 1.0 - ink if rng.uniform() < 0.7 else float(rng.uniform(0, 1))
                y0, y1 = max(0, y - pad), min(h, y + bh + pad)
                region = np.s_[y0:y1, :] if rng.uniform() < 0.5 and place in (0, 1) else np.s_[y0:y1, max(0, x - pad) : min(w, x + bw + pad)]
                img[region] = bg  # a band, full width or around the text
                self.hidden[region] = True
            x0, y0 = max(0, x), max(0, y)
            x1, y1 = min(w, x + bw), min(h, y + bh)
            if x1 <= x0 or y1 <= y0:
                continue
            sub = block[y0 - y : y1 - y, x0 - x : x1 - x]
            img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - sub) + ink * sub
            self.anchors.append(((x0 + x1) / 2, (y0 + y1) / 2))
            if x1 - x0 > TILE:  # long lines: more than one tile's worth of text
                self.anchors.append((x0 + TILE / 2, (y0 + y1) / 2))
        return img

    def software_overlays(self, img: np.ndarray) -> np.ndarray:
        """What viewing and acquisition software draws into an exported image: ROI rectangles and
        ellipses, measurement lines with their length, a ruler or scale bar with ticks, crosshairs,
        a grid. Thin lines of full black or white ink (or a grey), not defects."""
        rng, h, w = self.rng, self.h, self.w
        canvas = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(canvas)
        lw = max(1, int(round(min(h, w) / 700 * rng.uniform(0.7, 2.0))))
        spots: list[tuple[float, float]] = []
        for _ in range(int(rng.integers(1, 4))):
            kind = int(rng.integers(0, 5))
            cx, cy = float(rng.uniform(0.1, 0.9) * w), float(rng.uniform(0.1, 0.9) * h)
            if kind == 0:  # ROI rectangle
                bw, bh = self.mm(4, 40), self.mm(3, 25)
                draw.rectangle([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], outline=255, width=lw)
            elif kind == 1:  # ROI ellipse
                bw, bh = self.mm(3, 30), self.mm(3, 20)
                draw.ellipse([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], outline=255, width=lw)
            elif kind == 2:  # measurement line with end ticks and its length
                length, a = self.mm(3, 60), float(rng.uniform(0, math.pi))
                dx, dy = math.cos(a) * length / 2, math.sin(a) * length / 2
                draw.line([cx - dx, cy - dy, cx + dx, cy + dy], fill=255, width=lw)
                tx, ty = -math.sin(a) * 6 * lw, math.cos(a) * 6 * lw
                for ex, ey in ((cx - dx, cy - dy), (cx + dx, cy + dy)):
                    draw.line([ex - tx, ey - ty, ex + tx, ey + ty], fill=255, width=lw)
                label = text_mask(rng, f"{length * self.spacing:.1f} mm", float(rng.uniform(10, 24)))
                canvas.paste(255, (int(cx + tx * 2), int(cy + ty * 2)), Image.fromarray((label * 255).astype(np.uint8)))
            elif kind == 3:  # ruler / scale bar with ticks every mm and labels every 10 mm
                length, x0, y0 = self.mm(10, 50), cx, cy
                vertical = rng.uniform() < 0.3
                step = max(3.0, 1 / self.spacing)
                for k in range(int(length / step) + 1):
                    tick = (8 if k % 10 == 0 else 4 if k % 5 == 0 else 2) * lw
                    p = k * step
                    if vertical:
                        draw.line([x0, y0 + p, x0 + tick, y0 + p], fill=255, width=1)
                    else:
                        draw.line([x0 + p, y0, x0 + p, y0 + tick], fill=255, width=1)
                draw.line([x0, y0, x0, y0 + length] if vertical else [x0, y0, x0 + length, y0], fill=255, width=lw)
            else:  # crosshair or a grid of thin lines
                if rng.uniform() < 0.6:
                    arm = self.mm(2, 10)
                    draw.line([cx - arm, cy, cx + arm, cy], fill=255, width=lw)
                    draw.line([cx, cy - arm, cx, cy + arm], fill=255, width=lw)
                else:
                    pitch = float(rng.uniform(0.1, 0.3) * min(w, h))
                    for gx in np.arange(pitch, w, pitch):
                        draw.line([gx, 0, gx, h], fill=255, width=1)
                    for gy in np.arange(pitch, h, pitch):
                        draw.line([0, gy, w, gy], fill=255, width=1)
            spots.append((cx, cy))
        mask = np.asarray(canvas, np.float32) / 255.0
        ink = float(rng.choice([1.0, 0.0, rng.uniform(0.5, 1.0)]))
        self.anchors.extend(spots)
        return img * (1 - mask) + ink * mask

    # ---- the picture ---------------------------------------------------------------
    def render(self) -> tuple[np.ndarray, list[Box]]:
        rng = self.rng
        if self.with_defects:
            adders = [self.add_porosity, self.add_crack, self.add_slag, self.add_lack_of_fusion, self.add_undercut]
            # more defects on bigger images: about one per 300x300 px, at least one
            n = int(np.clip(rng.poisson(max(1.0, self.w * self.h / 90_000 * 0.6)), 1, 25))
            for _ in range(n):
                adders[int(rng.integers(0, len(adders)))]()
        # distractors: each kind on most images
        if self.chance(0.8):
            self.add_lead_letters()
        if self.chance(0.6):
            self.add_wire_iqi()
        if self.chance(0.4):
            self.add_hole_iqi()
        if self.chance(0.35):
            self.add_location_tape()
        for _ in range(int(rng.choice([0, 0, 1, 2])) + (1 if self.busy else 0)):
            self.add_arrow()
        if self.chance(0.4):
            self.add_lead_line()
        if self.busy:  # more of everything: a second IQI and more letters, anywhere on the part
            if rng.uniform() < 0.5:
                self.add_wire_iqi()
            else:
                self.add_hole_iqi()
            self.add_lead_letters()
        yy, xx = np.mgrid[0 : self.h, 0 : self.w].astype(np.float32)
        u, d = self.seam.coords(xx, yy)
        del xx, yy
        t = self.thickness(u, d)
        del u, d
        t = t - self.depth + self.extra
        if rng.uniform() < (0.5 if self.busy else 0.3):
            t = self.part_edge(t)
        t = blur(t, float(rng.uniform(0.4, 1.3)))
        exposure = rng.uniform(-0.25, 0.25)
        gain = rng.uniform(3.0, 6.0)
        a = float(rng.uniform(0, 2 * math.pi))
        heel = ((np.arange(self.w, dtype=np.float32)[None, :] / self.w - 0.5) * math.cos(a)
                + (np.arange(self.h, dtype=np.float32)[:, None] / self.h - 0.5) * math.sin(a)) * 2 * rng.uniform(0, 0.25)
        median = float(np.median(t[:: max(1, self.h // 200), :: max(1, self.w // 200)]))
        z = gain * (t - median - 0.15) + exposure + heel
        img = 1 / (1 + np.exp(-np.clip(z, -30, 30)))
        lo, hi = rng.uniform(0.02, 0.2), rng.uniform(0.75, 0.98)
        img = (lo + (hi - lo) * img).astype(np.float32)
        if rng.uniform() < 0.5:  # positive display: thicker material darker, defects brighter
            img = (lo + hi) - img
        img = self.detector_artefacts(img)
        grain_sigma = rng.uniform(0.006, 0.03)
        grain = blur(rng.normal(0, 1, img.shape).astype(np.float32), rng.uniform(0.5, 1.0))
        grain /= grain.std() + 1e-6
        shot = rng.normal(0, 1, img.shape).astype(np.float32) * np.sqrt(np.clip(img, 0, 1)) * rng.uniform(0.003, 0.012)
        img = np.clip(img + grain_sigma * grain + shot, 0, 1)
        img = self.burned_in_text(img)
        if self.busy:
            img = self.burned_in_text(img)  # a second round: text in several places
            img = self.software_overlays(img)
        return np.clip(img, 0, 1).astype(np.float32), self.visible_boxes()

    def visible_boxes(self) -> list[Box]:
        """The defects that still show: a box mostly under a band, a frame or air is not labelled."""
        out = []
        for b in self.boxes:
            x0, y0 = int(b.x1), int(b.y1)
            x1, y1 = max(x0 + 1, int(math.ceil(b.x2))), max(y0 + 1, int(math.ceil(b.y2)))
            if self.hidden[y0:y1, x0:x1].mean() < 0.3:
                out.append(b)
        return out


def render_scene(seed: int, with_defects: bool | None = None, busy: bool = False) -> tuple[np.ndarray, list[Box], RealScene]:
    scene = RealScene(seed, with_defects, busy)
    img, boxes = scene.render()
    return img, boxes, scene


def to_grey8(img: np.ndarray, sixteen_bit: bool) -> np.ndarray:
    """As serving sees it: a 16-bit radiograph is windowed by its 0.5/99.5 percentiles (whole image)."""
    from data import percentile_window

    if sixteen_bit:
        return percentile_window(np.round(img * 65535).astype(np.float64))
    return np.round(img * 255).astype(np.uint8)


def clip_to_tile(boxes: list[Box], x0: int, y0: int, size: int = TILE) -> list[Box]:
    """Boxes cut by a tile: kept (clipped) while enough of them shows.

    A box is kept when its visible width and height are each at least 40% of the whole
    or 24 px, whichever is less (a long crack crossing the tile stays a crack), and 2 px."""
    out = []
    for b in boxes:
        cx1, cy1 = max(b.x1, x0), max(b.y1, y0)
        cx2, cy2 = min(b.x2, x0 + size), min(b.y2, y0 + size)
        vw, vh = cx2 - cx1, cy2 - cy1
        if vw >= max(2.0, min(0.4 * (b.x2 - b.x1), 24.0)) and vh >= max(2.0, min(0.4 * (b.y2 - b.y1), 24.0)):
            out.append(Box(b.cls, cx1 - x0, cy1 - y0, cx2 - x0, cy2 - y0))
    return out


def tile_origins(scene: RealScene, boxes: list[Box], count: int, focus: str) -> list[tuple[int, int]]:
    """Top-left corners of `count` tiles: centred (with jitter) on defects, on distractors, or anywhere.

    focus 'defects': one per defect first; 'distractors': on distractor anchors;
    'mixed': half on defects or distractors, half anywhere."""
    rng = np.random.default_rng(scene.seed + 7_777_777)
    w, h = scene.w, scene.h
    # no more tiles than the image holds without overlapping much
    count = max(1, min(count, round(w * h / (TILE * TILE) / 1.5)))
    centres: list[tuple[float, float]] = []
    defect_centres = [((b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2) for b in boxes]
    rng.shuffle(defect_centres)
    anchors = list(scene.anchors)
    rng.shuffle(anchors)
    if focus == "defects":
        centres = defect_centres[:count]
    elif focus == "distractors":
        centres = anchors[:count]
    else:
        pool = defect_centres + anchors
        rng.shuffle(pool)
        centres = pool[: count // 2 + count % 2]
    out = []
    for cx, cy in centres:
        jx, jy = rng.uniform(-0.35, 0.35, 2) * TILE
        out.append((int(np.clip(cx + jx - TILE / 2, 0, w - TILE)), int(np.clip(cy + jy - TILE / 2, 0, h - TILE))))
    while len(out) < count:
        out.append((int(rng.integers(0, w - TILE + 1)), int(rng.integers(0, h - TILE + 1))))
    return out
