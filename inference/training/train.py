"""Train the weld defect detector on CPU within a wall-clock budget.

The learning rate follows a cosine over the *time* budget, so a run ends on schedule
whatever the machine's speed. After every epoch the EMA weights are scored (mAP50 on
part of the validation split) and the best are saved to ``<run>/best.pt``; ``last.pt``
is saved too, so a run can be stopped and exported at any point.

Validation decodes with the NMS IoU the bundled model is deployed with, so the best
checkpoint is the best as served. ``--init-onnx FILE`` starts from an exported model
(the shipped one, say) with its BatchNorms frozen; see ``from_onnx.py``.

``--real-fraction F`` mixes realistic tiles (``generate.REAL_SPLITS``: 320x320 tiles of large
radiographs at native resolution, a third of them without defects but with text, markers and
IQIs) into every batch: F of each batch comes from ``<data>/real_train``. Validation then also
scores ``real_val`` (mAP50) and ``distractors_val`` (false positives per image at the deployed
thresholds), and the best checkpoint is the one with the highest
``(classic mAP50 + realistic mAP50) / 2 - 0.5 * distractor FP/image``.

Usage:
    /usr/bin/python3 inference/training/train.py --data inference/training/data \
        --run inference/training/runs/train --minutes 60
    /usr/bin/python3 inference/training/train.py --init-onnx inference/models/weld-defects-1.1.0.onnx \
        --lr 5e-4 --run inference/training/runs/finetune --minutes 90
    /usr/bin/python3 inference/training/train.py --init-onnx inference/models/weld-defects-1.1.0.onnx \
        --real-fraction 0.6 --train-limit 4000 --lr 1e-3 --run inference/training/runs/real --minutes 45
"""

from __future__ import annotations

import os

# OpenMP threads that spin while waiting burn a shared CPU for nothing: they must sleep.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import copy
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from data import letterbox, load_split_cached, read_grey8, read_labels
from evaluate import evaluate_model, predict
from from_onnx import freeze_batchnorm, load_onnx_weights
from generate import CLASS_NAMES
from loss import DetectionLoss
from model import STRIDES, WeldDetector, count_parameters

TRAIN_H, TRAIN_W = 256, 320  # wide radiographs letterbox at (almost) the same scale as 320x320
CROP_H, CROP_W = 160, 224  # the window around the bead that a training step sees
EVAL_SIZE = 320


class EMA:
    """Exponential moving average of weights (and BN buffers), ramped up early."""

    def __init__(self, model: torch.nn.Module, decay: float = 0.999, tau: float = 400.0):
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.decay, self.tau, self.updates = decay, tau, 0

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / self.tau))
        msd = model.state_dict()
        for k, v in self.model.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(msd[k].detach(), alpha=1 - d)


def bead_row(img: np.ndarray) -> int:
    """Row of the weld axis: the bead is the brightest horizontal band."""
    real = img != 114
    sums = np.where(real, img, 0).sum(1) / np.maximum(real.sum(1), 1)
    sums = np.where(real.any(1), sums, 0)
    smooth = np.convolve(sums, np.ones(15) / 15, mode="same")
    return int(smooth.argmax())


def augment(img: np.ndarray, lab: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Flips, a window around the bead, and exposure/contrast/gamma jitter.

    Every defect lies in or at the bead, so training on a CROP_H x CROP_W window around
    it spends the little CPU there is where the labels are; the network is fully
    convolutional and runs on the full 320x320 letterbox at inference. Boxes cut by the
    window are kept, clipped, while at least 40% of their length stays inside.
    """
    h, w = img.shape
    lab = lab.copy()
    if rng.uniform() < 0.5:
        img = img[:, ::-1]
        lab[:, [1, 3]] = w - lab[:, [3, 1]]
    if rng.uniform() < 0.5:
        img = img[::-1, :]
        lab[:, [2, 4]] = h - lab[:, [4, 2]]
    centre = bead_row(img) + int(rng.integers(-40, 41))
    y0 = int(np.clip(centre - CROP_H // 2, 0, h - CROP_H))
    x0 = int(rng.integers(0, w - CROP_W + 1))
    return jitter(img[y0 : y0 + CROP_H, x0 : x0 + CROP_W], clip_labels(lab, x0, y0), rng)


def augment_tile(
    img: np.ndarray, lab: np.ndarray, rng: np.random.Generator, hot: tuple[float, float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A CROP_H x CROP_W window of a realistic tile: flips, a quarter turn, and the same exposure jitter.

    The weld runs at any angle in these tiles, so a transpose is as valid as a flip. Half of
    the windows are placed over a labelled defect (when the tile has one), half anywhere. A
    defect-free tile with a `hot` point (where the model last fired on it, from hard-negative
    mining) gets its window over that point half of the time."""
    lab = lab.copy()
    if hot is not None:
        lab = np.concatenate([lab, np.array([[-1, hot[0], hot[1], hot[0], hot[1]]], np.float32)])
    if rng.uniform() < 0.5:
        img = img.T
        lab[:, [1, 2, 3, 4]] = lab[:, [2, 1, 4, 3]]
    h, w = img.shape
    if rng.uniform() < 0.5:
        img = img[:, ::-1]
        lab[:, [1, 3]] = w - lab[:, [3, 1]]
    if rng.uniform() < 0.5:
        img = img[::-1, :]
        lab[:, [2, 4]] = h - lab[:, [4, 2]]
    point = None
    if hot is not None:
        point, lab = lab[-1], lab[:-1]
    if point is not None and rng.uniform() < 0.5:
        cx = point[1] + rng.uniform(-0.3, 0.3) * CROP_W
        cy = point[2] + rng.uniform(-0.3, 0.3) * CROP_H
        x0 = int(np.clip(cx - CROP_W / 2, 0, w - CROP_W))
        y0 = int(np.clip(cy - CROP_H / 2, 0, h - CROP_H))
    elif len(lab) and rng.uniform() < 0.5:
        b = lab[int(rng.integers(0, len(lab)))]
        cx = (b[1] + b[3]) / 2 + rng.uniform(-0.35, 0.35) * CROP_W
        cy = (b[2] + b[4]) / 2 + rng.uniform(-0.35, 0.35) * CROP_H
        x0 = int(np.clip(cx - CROP_W / 2, 0, w - CROP_W))
        y0 = int(np.clip(cy - CROP_H / 2, 0, h - CROP_H))
    else:
        x0, y0 = int(rng.integers(0, w - CROP_W + 1)), int(rng.integers(0, h - CROP_H + 1))
    return jitter(img[y0 : y0 + CROP_H, x0 : x0 + CROP_W], clip_labels(lab, x0, y0), rng, pad=False)


class TilePool:
    """320x320 realistic tiles from split folders, extended while a generator is still writing them.

    A tile is taken once its label file exists (the generator writes it after the image)."""

    def __init__(self, roots: list[Path]):
        self.roots = roots
        self.seen: set[str] = set()
        self.images: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []

    def refresh(self) -> int:
        added = 0
        for root in self.roots:
            if not (root / "images").exists():
                continue
            for p in sorted((root / "images").glob("*.png")):
                label = root / "labels" / f"{p.stem}.txt"
                key = str(p)
                if key in self.seen or not label.exists():
                    continue
                try:
                    grey = read_grey8(p)
                except OSError:
                    continue
                img, lb = letterbox(grey, EVAL_SIZE, EVAL_SIZE)
                lab = read_labels(label, grey.shape[1], grey.shape[0])
                lab[:, 1:] = lab[:, 1:] * lb.ratio + np.array([lb.left, lb.top, lb.left, lb.top], np.float32)
                self.seen.add(key)
                self.images.append(img)
                self.labels.append(lab)
                added += 1
        return added

    def __len__(self) -> int:
        return len(self.images)


class HardNegatives:
    """Defect-free tiles, sampled by how strongly the model last fired on them.

    After every validation a random subset of the tiles is scored with the EMA weights: a
    tile's weight becomes 0.1 + its highest class score, and its `hot` point the centre of that
    box, so later windows of it are cut over what the model mistook for a defect."""

    def __init__(self, pool: TilePool):
        self.pool = pool
        self.weight = np.zeros(0)
        self.hot: list[tuple[float, float] | None] = []

    def grow(self) -> None:
        n = len(self.pool) - len(self.weight)
        if n > 0:
            fill = float(self.weight.mean()) if len(self.weight) else 1.0
            self.weight = np.concatenate([self.weight, np.full(n, fill)])
            self.hot.extend([None] * n)

    def mine(self, model: torch.nn.Module, rng: np.random.Generator, count: int) -> dict:
        self.grow()
        if not len(self.pool):
            return {}
        idx = rng.permutation(len(self.pool))[:count]
        raw = predict(model, np.stack([self.pool.images[i] for i in idx]))  # [n, 4 + nc, A]
        scores = raw[:, 4:, :].max(1)  # [n, A]
        best = scores.argmax(1)
        for k, i in enumerate(idx):
            top = float(scores[k, best[k]])
            self.weight[i] = 0.1 + top
            self.hot[i] = (float(raw[k, 0, best[k]]), float(raw[k, 1, best[k]])) if top > 0.05 else None
        top_scores = scores.max(1)
        return {"mined": len(idx), "above_0.25": int((top_scores >= 0.25).sum()), "mean_top": round(float(top_scores.mean()), 4)}

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        self.grow()
        p = self.weight / self.weight.sum()
        return rng.choice(len(self.weight), size=n, p=p)


def clip_labels(lab: np.ndarray, x0: int, y0: int) -> np.ndarray:
    """Boxes of a window at (x0, y0): clipped, kept while 40% of their extent stays inside."""
    if not len(lab):
        return lab
    orig_w, orig_h = lab[:, 3] - lab[:, 1], lab[:, 4] - lab[:, 2]
    lab = lab.copy()
    lab[:, [1, 3]] = np.clip(lab[:, [1, 3]] - x0, 0, CROP_W)
    lab[:, [2, 4]] = np.clip(lab[:, [2, 4]] - y0, 0, CROP_H)
    keep_w = (lab[:, 3] - lab[:, 1]) >= np.maximum(0.4 * orig_w, 2.0)
    keep_h = (lab[:, 4] - lab[:, 2]) >= np.maximum(0.4 * orig_h, 2.0)
    return lab[keep_w & keep_h]


def jitter(img: np.ndarray, lab: np.ndarray, rng: np.random.Generator, pad: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Gamma, contrast and brightness jitter; letterbox padding (114) stays as it is."""
    f = img.astype(np.float32) / 255.0
    gamma = float(np.exp(rng.uniform(-0.3, 0.3)))
    f = np.clip(f, 1e-4, 1) ** gamma
    f = (f - 0.5) * rng.uniform(0.75, 1.3) + 0.5 + rng.uniform(-0.1, 0.1)
    f = np.clip(f, 0, 1)
    if pad:
        f = np.where(img == 114, 114 / 255.0, f)
    return f.astype(np.float32), lab


def batch_tensor(imgs: list[np.ndarray]) -> torch.Tensor:
    x = torch.from_numpy(np.stack(imgs)).unsqueeze(1)
    return x.expand(-1, 3, -1, -1).contiguous()  # greyscale radiograph as RGB


def point_strides(model: WeldDetector, h: int, w: int) -> torch.Tensor:
    return torch.cat([torch.full(((h // s) * (w // s),), float(s)) for s in STRIDES])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).parent / "data")
    ap.add_argument("--run", type=Path, default=Path(__file__).parent / "runs" / "train")
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--val-images", type=int, default=200)
    ap.add_argument("--eval-every", type=int, default=4000, help="training images between validations")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init-onnx", type=Path, help="start from this exported model's weights, BatchNorm frozen")
    ap.add_argument("--real-fraction", type=float, default=0.0, help="share of each batch from <data>/real_train tiles")
    ap.add_argument("--train-limit", type=int, help="use only the first N classic training images")
    ap.add_argument("--real-splits", nargs="+", default=["real_train"], help="folders of realistic tiles with defects (and some without)")
    ap.add_argument("--neg-fraction", type=float, default=0.0, help="share of each batch from hard-negative tiles (<data>/real_neg)")
    ap.add_argument("--neg-splits", nargs="+", default=["real_neg"])
    ap.add_argument("--mine-tiles", type=int, default=512, help="hard-negative tiles scored after each validation")
    ap.add_argument("--fp-weight", type=float, default=0.5, help="weight of the validation false positives per tile in the score")
    ap.add_argument("--extra-fp-val", nargs="*", default=[], help="more defect-free validation splits scored for FP per tile")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    args.run.mkdir(parents=True, exist_ok=True)
    log = open(args.run / "log.jsonl", "a")

    t0 = time.time()
    cache = args.run.parent / "cache"
    suffix = f"_{args.train_limit}" if args.train_limit else ""
    train = load_split_cached(args.data / "train", TRAIN_H, TRAIN_W, cache / f"train_256x320{suffix}.npz", args.train_limit)
    val = load_split_cached(args.data / "val", EVAL_SIZE, EVAL_SIZE, cache / "val_320.npz")
    real = real_val = distractors_val = None
    negatives = None
    extra_fp = {}
    if args.real_fraction > 0:
        # tiles are read as they are: a generator may still be adding to these folders
        real = TilePool([args.data / s for s in args.real_splits])
        real.refresh()
        if args.neg_fraction > 0:
            negatives = HardNegatives(TilePool([args.data / s for s in args.neg_splits]))
            negatives.pool.refresh()
            print(f"{len(negatives.pool)} hard-negative tiles", flush=True)
        for name in args.extra_fp_val:
            extra_fp[name] = load_split_cached(args.data / name, EVAL_SIZE, EVAL_SIZE, cache / f"{name}_320.npz")
        real_val = load_split_cached(args.data / "real_val", EVAL_SIZE, EVAL_SIZE, cache / "real_val_320.npz")
        distractors_val = load_split_cached(args.data / "distractors_val", EVAL_SIZE, EVAL_SIZE, cache / "distractors_val_320.npz")
        print(f"loaded {len(real.images)} realistic tiles, {len(real_val.images)} + {len(distractors_val.images)} to validate", flush=True)
    print(f"loaded {len(train.images)} train / {len(val.images)} val in {time.time() - t0:.0f}s", flush=True)
    n_real = int(round(args.batch * args.real_fraction))
    n_neg = int(round(args.batch * args.neg_fraction)) if negatives is not None else 0

    model = WeldDetector(nc=len(CLASS_NAMES))
    print(f"params {count_parameters(model)}", flush=True)
    if args.init_onnx:
        print(f"loaded {load_onnx_weights(model, args.init_onnx)} convolutions from {args.init_onnx}", flush=True)

    def train_mode() -> None:
        model.train()
        if args.init_onnx:
            freeze_batchnorm(model)

    ema = EMA(model)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.999)
    )
    criterion = DetectionLoss(len(CLASS_NAMES))
    strides = point_strides(model, CROP_H, CROP_W)
    budget = args.minutes * 60
    start = time.time()
    warmup_iters = 200
    step, epoch, best = 0, 0, -math.inf
    done = False

    def validate(losses: np.ndarray) -> None:
        """Scores the EMA weights, logs them, saves last.pt, and best.pt when they beat the best so far."""
        nonlocal best
        metrics = evaluate_model(
            ema.model, val.images[: args.val_images], val.labels[: args.val_images], len(CLASS_NAMES), max_candidates=1000
        )
        record = {
            "epoch": epoch,
            "step": step,
            "elapsed_s": round(time.time() - start),
            "loss": losses.round(4).tolist(),
            "val_mAP50": round(metrics["mAP50"], 4),
            "val_mAP50_95": round(metrics["mAP50_95"], 4),
            "val_ap50_per_class": [round(v, 4) for v in metrics["ap50_per_class"]],
        }
        score = metrics["mAP50"]
        if real_val is not None and distractors_val is not None:
            rm = evaluate_model(ema.model, real_val.images, real_val.labels, len(CLASS_NAMES), max_candidates=1000)
            dm = evaluate_model(ema.model, distractors_val.images, distractors_val.labels, len(CLASS_NAMES), max_candidates=1000)
            record.update(
                real_val_mAP50=round(rm["mAP50"], 4),
                real_val_mAP50_95=round(rm["mAP50_95"], 4),
                real_val_ap50_per_class=[round(v, 4) for v in rm["ap50_per_class"]],
                real_val_fp_per_image=round(rm["fp_per_image"], 4),
                distractors_val_fp_per_image=round(dm["fp_per_image"], 4),
            )
            fps = [dm["fp_per_image"]]
            for name, split in extra_fp.items():
                em = evaluate_model(ema.model, split.images, split.labels, len(CLASS_NAMES), max_candidates=1000)
                record[f"{name}_fp_per_image"] = round(em["fp_per_image"], 4)
                fps.append(em["fp_per_image"])
            score = (metrics["mAP50"] + rm["mAP50"]) / 2 - args.fp_weight * float(np.mean(fps))
            record["score"] = round(score, 4)
            record["real_tiles"] = len(real)
            if negatives is not None:
                negatives.pool.refresh()
                record["neg_tiles"] = len(negatives.pool)
                record["mining"] = negatives.mine(ema.model, rng, args.mine_tiles)
            real.refresh()
        print(json.dumps(record), flush=True)
        log.write(json.dumps(record) + "\n")
        log.flush()
        state = {"model": ema.model.state_dict(), "epoch": epoch, "step": step, "val": record, "names": CLASS_NAMES}
        torch.save(state, args.run / "last.pt")
        if score > best:
            best = score
            torch.save(state, args.run / "best.pt")
            print(f"new best validation score {best:.4f}", flush=True)

    if args.init_onnx:
        validate(np.zeros(3))  # epoch 0: the starting model is the one to beat

    while not done:
        epoch += 1
        # an "epoch" here is a validation period of --eval-every images
        order = rng.permutation(len(train.images))[: args.eval_every]
        train_mode()
        sums = np.zeros(3)
        n_batches = 0
        for bi in range(0, len(order) - args.batch + 1, args.batch):
            progress = (time.time() - start) / budget
            if progress >= 1.0:
                done = True
                break
            lr = args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress)))
            if step < warmup_iters:
                lr *= (step + 1) / warmup_iters
            for g in opt.param_groups:
                g["lr"] = lr
            imgs, targets = [], []
            for i in order[bi : bi + args.batch - n_real - n_neg]:
                im, lab = augment(train.images[i], train.labels[i], rng)
                imgs.append(im)
                targets.append(torch.from_numpy(lab))
            if real is not None:
                for i in rng.integers(0, len(real.images), n_real):
                    im, lab = augment_tile(real.images[i], real.labels[i], rng)
                    imgs.append(im)
                    targets.append(torch.from_numpy(lab))
            if negatives is not None:
                for i in negatives.sample(rng, n_neg):
                    im, lab = augment_tile(negatives.pool.images[i], negatives.pool.labels[i], rng, negatives.hot[i])
                    imgs.append(im)
                    targets.append(torch.from_numpy(lab))
            dist, logits, points = model(batch_tensor(imgs))
            loss, lbox, lcls = criterion(dist, logits, points, strides, targets)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            ema.update(model)
            step += 1
            n_batches += 1
            sums += [loss.item(), lbox.item(), lcls.item()]
            if step % 20 == 0:
                m = sums / n_batches
                print(
                    f"ep {epoch} step {step} t {time.time() - start:.0f}s lr {lr:.2e} "
                    f"loss {m[0]:.3f} box {m[1]:.3f} cls {m[2]:.3f}",
                    flush=True,
                )
        validate(sums / max(n_batches, 1))
    print(f"done after {time.time() - start:.0f}s, best validation score {best:.4f}", flush=True)


if __name__ == "__main__":
    main()
