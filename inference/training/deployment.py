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
    # per class (in CLASS_NAMES order) the lowest score kept; None: `confidence` for every class
    class_confidence: list[float] | None = None


def read_thresholds(path: Path) -> Thresholds:
    t = json.loads(path.read_text())["thresholds"]
    per = t.get("classConfidence")
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
