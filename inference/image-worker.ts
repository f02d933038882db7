import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import type { ImageJobRequest, ImageReply } from './image-protocol.js';
import { letterboxGeometry, letterboxTensor, tileTensor } from './letterbox.js';
import { decodeImage, ImageRejectedError, probeImage, verifyDecodes } from './preprocess.js';

/**
 * Decoding, windowing, letterboxing and tiling, one job at a time, off the calling thread: these
 * are long synchronous loops (a 16-bit 8192² image is 64 M samples to histogram and window) that
 * would otherwise stall the API's event loop.
 */

const port = parentPort;
if (!port) throw new Error('image-worker must run in a worker thread');
// libvips' operation cache would keep decoded images alive between jobs; the pool's memory budget
// accounts only for what a job holds.
sharp.cache(false);

async function handle(job: ImageJobRequest): Promise<{ reply: ImageReply; transfer: ArrayBuffer[] }> {
  switch (job.kind) {
    case 'probe':
      return {
        reply: { kind: 'header', id: job.id, header: await probeImage(job.bytes, job.maxPixels) },
        transfer: [],
      };
    case 'verify': {
      const header = await probeImage(job.bytes, job.maxPixels);
      await verifyDecodes(job.bytes, job.maxPixels);
      return { reply: { kind: 'header', id: job.id, header }, transfer: [] };
    }
    case 'decode': {
      const decoded = await decodeImage(job.bytes, {
        maxPixels: job.maxPixels,
        ...(job.windowPercentiles ? { windowPercentiles: job.windowPercentiles } : {}),
        allocate: (length) => new Uint8Array(new SharedArrayBuffer(length)),
      });
      const { mediaType, width, height, channels, bitDepth, window, pixels } = decoded;
      return {
        reply: { kind: 'decoded', id: job.id, image: { mediaType, width, height, channels, bitDepth, window, pixels } },
        transfer: [],
      };
    }
    case 'letterbox': {
      const { image, target } = job;
      const geometry = letterboxGeometry(image.width, image.height, target.width, target.height);
      const tensor = letterboxTensor(image.pixels, image.channels, geometry);
      return { reply: { kind: 'tensors', id: job.id, tensors: [tensor] }, transfer: [tensor.buffer as ArrayBuffer] };
    }
    case 'tiles': {
      const tensors = job.origins.map((origin) => tileTensor(job.image, job.scaled, origin, job.tileSize));
      return {
        reply: { kind: 'tensors', id: job.id, tensors },
        transfer: tensors.map((t) => t.buffer as ArrayBuffer),
      };
    }
  }
}

port.on('message', async (job: ImageJobRequest) => {
  try {
    const { reply, transfer } = await handle(job);
    port.postMessage(reply, transfer);
  } catch (error) {
    port.postMessage({
      kind: 'error',
      id: job.id,
      message: error instanceof Error ? error.message : String(error),
      rejection: error instanceof ImageRejectedError ? error.code : null,
    } satisfies ImageReply);
  }
});
