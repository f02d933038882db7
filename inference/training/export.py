"""Export a checkpoint to ONNX in the Ultralytics YOLOv8/YOLO11 detection layout.

Input ``images`` float32 [B,3,320,320] (RGB, /255, letterboxed with 114), output
``output0`` [B, 4+nc, A]: cx, cy, w, h in input pixels, then sigmoid class scores.
Batch is a dynamic axis. metadata_props are written as Ultralytics writes them:
values are Python ``str()`` reprs, not JSON.

With ``--verify`` the file is loaded by onnxruntime-node (from the repository's
node_modules) in a child ``node`` process: a zero tensor must give [1, 4+nc, A] and a
batch of 2 [2, 4+nc, A], and the output on a real letterboxed sample must match
torch's to 1e-3.

Usage:
    /usr/bin/python3 inference/training/export.py --weights inference/training/runs/train/best.pt \
        --version 1.0.0 --verify
    /usr/bin/python3 inference/training/export.py --untrained --version 0.0.1-untrained --verify
"""

from __future__ import annotations

import os

# OpenMP threads that spin while waiting burn a shared CPU for nothing: they must sleep.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import datetime
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch

from data import letterbox
from evaluate import load_checkpoint
from generate import CLASS_NAMES, render
from model import STRIDES, WeldDetector

IMGSZ = 320
REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO_ROOT / "inference" / "models"

NODE_CHECK = r"""
const ort = require('onnxruntime-node');
const fs = require('fs');
(async () => {
  const [model, imagePath, outPath, size] = process.argv.slice(1);
  const n = Number(size);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  const zeros = new ort.Tensor('float32', new Float32Array(3 * n * n), [1, 3, n, n]);
  const z = await session.run({ images: zeros });
  const pair = new ort.Tensor('float32', new Float32Array(2 * 3 * n * n), [2, 3, n, n]);
  const p = await session.run({ images: pair });
  const buf = fs.readFileSync(imagePath);
  const img = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const r = await session.run({ images: new ort.Tensor('float32', img, [1, 3, n, n]) });
  fs.writeFileSync(outPath, Buffer.from(r.output0.data.buffer));
  console.log(JSON.stringify({
    inputNames: session.inputNames, outputNames: session.outputNames,
    zeroDims: z.output0.dims, batch2Dims: p.output0.dims, imageDims: r.output0.dims,
  }));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def python_repr_metadata(version: str, description: str, nc_names: list[str]) -> dict[str, str]:
    names = dict(enumerate(nc_names))
    return {
        "description": description,
        "author": "Chitti",
        "date": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        "version": version,
        "license": "Apache-2.0",
        "docs": "inference/models/weld-defects.model-card.md",
        "stride": str(max(STRIDES)),
        "task": "detect",
        "batch": str(1),
        "imgsz": str([IMGSZ, IMGSZ]),
        "names": str(names),
        "args": str({"batch": 1, "dynamic": True, "nms": False, "half": False, "imgsz": IMGSZ}),
        "channels": str(3),
    }


def export(model: WeldDetector, path: Path, metadata: dict[str, str]) -> None:
    model.eval()
    model.export = True
    x = torch.zeros(1, 3, IMGSZ, IMGSZ)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model,
        x,
        str(path),
        opset_version=13,
        input_names=["images"],
        output_names=["output0"],
        dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}},
        do_constant_folding=True,
    )
    proto = onnx.load(str(path))
    # the tracer leaves the channel and anchor axes symbolic; they are fixed for this imgsz
    out_dims = proto.graph.output[0].type.tensor_type.shape.dim
    out_dims[1].dim_value = 4 + model.nc
    out_dims[2].dim_value = sum((IMGSZ // s) ** 2 for s in STRIDES)
    del proto.metadata_props[:]
    for k, v in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def sample_tensor(seed: int = 3_000_000) -> np.ndarray:
    img, _ = render(seed)
    grey = np.round(img * 255).astype(np.uint8)
    canvas, _ = letterbox(grey, IMGSZ, IMGSZ)
    x = canvas.astype(np.float32) / 255.0
    return np.ascontiguousarray(np.broadcast_to(x, (1, 3, IMGSZ, IMGSZ)))


def verify_with_node(model: WeldDetector, path: Path) -> dict:
    nc = model.nc
    anchors = sum((IMGSZ // s) ** 2 for s in STRIDES)
    x = sample_tensor()
    with torch.no_grad():
        model.eval()
        model.export = True
        expected = model(torch.from_numpy(x)).numpy()
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        inp.write_bytes(x.tobytes())
        res = subprocess.run(
            ["node", "-e", NODE_CHECK, str(path), str(inp), str(out), str(IMGSZ)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        info = json.loads(res.stdout.strip().splitlines()[-1])
        got = np.frombuffer(out.read_bytes(), np.float32).reshape(expected.shape)
    assert info["inputNames"] == ["images"] and info["outputNames"] == ["output0"], info
    assert info["zeroDims"] == [1, 4 + nc, anchors], info
    assert info["batch2Dims"] == [2, 4 + nc, anchors], info
    diff_boxes = float(np.abs(got[:, :4] - expected[:, :4]).max())
    diff_scores = float(np.abs(got[:, 4:] - expected[:, 4:]).max())
    info.update(max_abs_diff_boxes_px=diff_boxes, max_abs_diff_scores=diff_scores)
    assert diff_boxes < 1e-2 and diff_scores < 1e-3, info
    return info


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--untrained", action="store_true", help="export a randomly initialised model (layout only)")
    ap.add_argument("--version", required=True)
    ap.add_argument("--out", type=Path, help="default inference/models/weld-defects-<version>.onnx")
    ap.add_argument("--verify", action="store_true", help="check the file in onnxruntime-node against torch")
    args = ap.parse_args()
    torch.set_num_threads(2)
    if args.untrained:
        torch.manual_seed(0)
        model = WeldDetector(nc=len(CLASS_NAMES))
        description = "Chitti weld radiograph defect detector, UNTRAINED (random weights; layout only)"
    else:
        if args.weights is None:
            ap.error("--weights is required unless --untrained")
        model = load_checkpoint(args.weights)
        description = "Chitti weld radiograph defect detector (trained on synthetic radiographs)"
    out = args.out or MODELS_DIR / f"weld-defects-{args.version}.onnx"
    export(model, out, python_repr_metadata(args.version, description, CLASS_NAMES))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    if args.verify:
        print(json.dumps(verify_with_node(model, out)))


if __name__ == "__main__":
    main()
