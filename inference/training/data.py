"""Loading generated splits and letterboxing them exactly as the serving pipeline does.

Letterbox (Ultralytics): r = min(H/h, W/w); resize to round(w*r) x round(h*r) bilinear;
pad split evenly (top = round(dh/2 - 0.1), left = round(dw/2 - 0.1)) with grey 114.
16-bit radiographs are windowed to 8 bits by their 0.5/99.5 percentiles (nearest rank),
as `inference/preprocess.ts` does at serving time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

PAD_VALUE = 114
IMAGE_SUFFIXES = (".png", ".tif", ".tiff")


def read_grey8(path: Path) -> np.ndarray:
    """Any PNG/TIFF (8- or 16-bit, grey or RGB) as an 8-bit greyscale array."""
    with Image.open(path) as im:
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):
            return percentile_window(np.asarray(im, dtype=np.float64))
        return np.asarray(im.convert("L"), dtype=np.uint8)


def percentile_window(samples: np.ndarray, low_pct: float = 0.5, high_pct: float = 99.5) -> np.ndarray:
    """Maps the [low, high] percentile window linearly to 0..255, clamping outside."""
    ordered = np.sort(samples, axis=None)
    n = ordered.size

    def at(p: float) -> float:
        return float(ordered[min(n - 1, int(np.floor(p / 100 * (n - 1))))])

    low, high = at(low_pct), at(high_pct)
    if high <= low:
        high = low + 1
    return np.clip(np.floor((samples - low) * (255 / (high - low)) + 0.5), 0, 255).astype(np.uint8)


@dataclass
class Letterbox:
    ratio: float
    left: int
    top: int


def letterbox(grey: np.ndarray, out_h: int, out_w: int) -> tuple[np.ndarray, Letterbox]:
    h, w = grey.shape
    r = min(out_h / h, out_w / w)
    nw, nh = round(w * r), round(h * r)
    resized = np.asarray(Image.fromarray(grey).resize((nw, nh), Image.BILINEAR))
    dw, dh = (out_w - nw) / 2, (out_h - nh) / 2
    top, left = round(dh - 0.1), round(dw - 0.1)
    canvas = np.full((out_h, out_w), PAD_VALUE, np.uint8)
    canvas[top : top + nh, left : left + nw] = resized
    return canvas, Letterbox(r, left, top)


def read_labels(path: Path, w: int, h: int) -> np.ndarray:
    """YOLO label file -> [N, 5] array (cls, x1, y1, x2, y2) in image pixels."""
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                c, cx, cy, bw, bh = (float(v) for v in line.split())
                rows.append((c, (cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h))
    return np.array(rows, np.float32).reshape(-1, 5)


@dataclass
class Split:
    images: np.ndarray  # [N, H, W] uint8, letterboxed
    labels: list[np.ndarray]  # per image [n, 5] cls, x1, y1, x2, y2 in letterboxed pixels
    names: list[str]


def load_split(root: Path, out_h: int, out_w: int, limit: int | None = None) -> Split:
    img_dir, lbl_dir = root / "images", root / "labels"
    paths = sorted(p for p in img_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if limit is not None:
        paths = paths[:limit]
    images = np.empty((len(paths), out_h, out_w), np.uint8)
    labels = []
    for i, p in enumerate(paths):
        grey = read_grey8(p)
        h, w = grey.shape
        images[i], lb = letterbox(grey, out_h, out_w)
        lab = read_labels(lbl_dir / f"{p.stem}.txt", w, h)
        lab[:, 1:] = lab[:, 1:] * lb.ratio + np.array([lb.left, lb.top, lb.left, lb.top], np.float32)
        labels.append(lab)
    return Split(images, labels, [p.name for p in paths])


def load_split_cached(root: Path, out_h: int, out_w: int, cache: Path, limit: int | None = None) -> Split:
    """load_split, memoised in an .npz so repeated runs skip decoding and resizing.

    The cache is used only while it holds the same images as the folder (a regenerated or
    extended split is loaded afresh)."""
    if cache.exists():
        z = np.load(cache, allow_pickle=True)
        names = sorted(p.name for p in (root / "images").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if limit is not None:
            names = names[:limit]
        if list(z["names"]) == names:
            return Split(z["images"], list(z["labels"]), list(z["names"]))
    split = load_split(root, out_h, out_w, limit)
    cache.parent.mkdir(parents=True, exist_ok=True)
    labels = np.empty(len(split.labels), dtype=object)
    labels[:] = split.labels
    np.savez(cache, images=split.images, labels=labels, names=np.array(split.names))
    return split
