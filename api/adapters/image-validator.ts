import type { ImagePool } from '../../inference/image-pool.js';
import { ImageRejectedError } from '../../inference/preprocess.js';
import type { ImageValidator } from '../ports/image-validator.js';

/** The image pool's full-decode check as the API's port: refusals become a reason, not a throw. */
export function workerImageValidator(pool: ImagePool): ImageValidator {
  return {
    async check(bytes, maxPixels) {
      try {
        const header = await pool.verify(bytes, maxPixels);
        const { width, height, fileChannels: channels, sampleFormat } = header;
        return { ok: true, image: { width, height, channels, sampleFormat } };
      } catch (error) {
        if (!(error instanceof ImageRejectedError)) throw error;
        const code = error.code === 'decompression-bomb' ? 'too-many-pixels' : error.code;
        return { ok: false, code, reason: error.message };
      }
    },
  };
}
