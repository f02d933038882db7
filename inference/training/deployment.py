"""The thresholds a bundled model version is deployed with, read from the files Chitti's start reads.

``inference/models/weld-defects-<version>.deployment.json`` when a version has its own (2.1.0 on),
else the shared ``inference/models/weld-defects.deployment.json``: the embedded start deploys each
shipped version with them, and evaluation, checkpoint selection and the samples' recorded
detections use the same values, so the metrics describe what a user is served.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
DEPLOYMENT_FILE = MODELS_DIR / "weld-defects.deployment.json"
CLASS_NAMES = ["porosity", "crack", "slag_inclusion", "lack_of_fusion", "undercut"]


@dataclass(frozen=True)
class Thresholds:
    confidence: float
    iou: float
    max_detections: int
    # per class (in CLASS_NAMES order) the score a detection must exceed; None: `confidence` for every class
    class_confidence: list[float] | None = None

    def floors(self) -> list[float]:
        """Per class (CLASS_NAMES order) the score a detection must exceed, as serving applies them."""
        return self.class_confidence or [self.confidence] * len(CLASS_NAMES)

    def class_map(self) -> dict[str, float]:
        """The deployment file's ``classConfidence``: the classes whose threshold is not ``confidence``."""
        return {n: f for n, f in zip(CLASS_NAMES, self.floors()) if f != self.confidence}


def served(dets, t: Thresholds):
    """The rows [x1, y1, x2, y2, score, cls] serving keeps at thresholds `t`: score > its class's
    threshold (strictly, as Chitti's decoder and Ultralytics compare), per-class entries first."""
    import numpy as np

    if len(dets) == 0:
        return dets
    floors = np.asarray(t.floors(), dtype=np.float64)
    return dets[dets[:, 4] > floors[dets[:, 5].astype(int)]]


def read_thresholds(path: Path) -> Thresholds:
    """A deployment file's thresholds. ``classConfidence`` (class name -> confidence) is optional;
    a class it names that the model lacks is refused, as ``npm start`` refuses it."""
    t = json.loads(path.read_text())["thresholds"]
    per = t.get("classConfidence") or {}
    unknown = sorted(set(per) - set(CLASS_NAMES))
    if unknown:
        raise ValueError(f"{path}: classConfidence names classes the model lacks: {', '.join(unknown)}")
    floors = [float(per.get(n, t["confidence"])) for n in CLASS_NAMES] if per else None
    return Thresholds(float(t["confidence"]), float(t["iou"]), int(t["maxDetections"]), floors)


def serving_thresholds(path: Path = DEPLOYMENT_FILE) -> Thresholds:
    return read_thresholds(path)


def deployment_file(model_file: Path) -> Path:
    """The deployment file of the version a `weld-defects-<version>.onnx` file is (its own, else the shared one)."""
    m = re.search(r"-(\d+\.\d+\.\d+)\.onnx$", model_file.name)
    own = MODELS_DIR / f"weld-defects-{m.group(1)}.deployment.json" if m else None
    return own if own is not None and own.exists() else DEPLOYMENT_FILE


def version_deployment(model_file: Path) -> Thresholds:
    return read_thresholds(deployment_file(model_file))
