"""Runs an exported .onnx file in onnxruntime-node, the runtime Chitti serves it with.

Evaluating the file itself (rather than the torch weights it came from) measures the
artefact that ships; it needs no torch checkpoint, which is not kept in the repository.
Images go to a child ``node`` process as letterboxed uint8 greyscale, are repeated on
three channels and scaled by 1/255 there, exactly as ``evaluate.predict`` feeds torch.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]

NODE_RUN = r"""
const ort = require('onnxruntime-node');
const fs = require('fs');
(async () => {
  const [model, inPath, outPath, count, height, width, batch] = process.argv.slice(1).map((v, i) => (i < 3 ? v : Number(v)));
  const plane = height * width;
  const grey = fs.readFileSync(inPath);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 2 });
  const out = fs.openSync(outPath, 'w');
  let dims = null;
  for (let i = 0; i < count; i += batch) {
    const b = Math.min(batch, count - i);
    const x = new Float32Array(b * 3 * plane);
    for (let k = 0; k < b; k++) {
      for (let p = 0; p < plane; p++) {
        const v = grey[(i + k) * plane + p] / 255;
        const at = k * 3 * plane + p;
        x[at] = v; x[at + plane] = v; x[at + 2 * plane] = v;
      }
    }
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, [b, 3, height, width]) };
    const y = (await session.run(feeds))[session.outputNames[0]];
    dims = y.dims;
    fs.writeSync(out, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
  }
  fs.closeSync(out);
  console.log(JSON.stringify({ dims, inputNames: session.inputNames, outputNames: session.outputNames }));
})().catch((e) => { console.error(e); process.exit(1); });
"""


class OnnxNodeModel:
    def __init__(self, path: Path, batch: int = 8):
        self.path = path.resolve()
        self.batch = batch

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Letterboxed uint8 greyscale [N, H, W] -> raw output [N, 4+nc, A]."""
        return self.run(images)[0]

    def run(self, images: np.ndarray) -> tuple[np.ndarray, dict]:
        """predict, plus what the session reported: its input and output names and the output dims."""
        n, h, w = images.shape
        with tempfile.TemporaryDirectory() as tmp:
            inp, out = Path(tmp) / "in.u8", Path(tmp) / "out.f32"
            inp.write_bytes(np.ascontiguousarray(images, np.uint8).tobytes())
            res = subprocess.run(
                ["node", "-e", NODE_RUN, str(self.path), str(inp), str(out), str(n), str(h), str(w), str(self.batch)],
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
            )
            if res.returncode != 0:
                raise RuntimeError(f"onnxruntime-node failed on {self.path}: {res.stderr.strip()}")
            info = json.loads(res.stdout.strip().splitlines()[-1])
            dims = info["dims"]
            return np.fromfile(out, np.float32).reshape(n, dims[1], dims[2]), info
