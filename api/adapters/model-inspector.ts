import { InvalidModelError, inspectModel } from '../../inference/model-store.js';
import type { ModelInspector } from '../ports/model-inspector.js';

/** `inspectModel` of the inference pipeline as the API's port: invalid models become a reason, not a throw. */
export function onnxModelInspector(options: { maxBytes?: number } = {}): ModelInspector {
  return {
    async inspect(bytes) {
      try {
        const model = await inspectModel(bytes, options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {});
        return {
          ok: true,
          model: {
            outputLayout: model.outputLayout,
            classes: model.classes,
            inputSize: model.inputSize,
            description: model.description,
          },
        };
      } catch (error) {
        if (error instanceof InvalidModelError) return { ok: false, code: error.code, reason: error.message };
        throw error;
      }
    },
  };
}
