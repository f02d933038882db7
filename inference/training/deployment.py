"""The thresholds the bundled model is deployed with, read from the file Chitti's start reads.

``inference/models/weld-defects.deployment.json`` is the one place they are set: the
embedded start deploys the shipped model with them, and evaluation, checkpoint
selection and the samples' recorded detections use the same NMS IoU, so the metrics
describe what a user is served.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

DEPLOYMENT_FILE = Path(__file__).resolve().parents[1] / "models" / "weld-defects.deployment.json"


@dataclass(frozen=True)
class Thresholds:
    confidence: float
    iou: float
    max_detections: int


def serving_thresholds(path: Path = DEPLOYMENT_FILE) -> Thresholds:
    t = json.loads(path.read_text())["thresholds"]
    return Thresholds(float(t["confidence"]), float(t["iou"]), int(t["maxDetections"]))
