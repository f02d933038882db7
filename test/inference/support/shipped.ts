import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const MODELS_DIR = fileURLToPath(new URL('../../../inference/models/', import.meta.url));
export const SAMPLES_DIR = fileURLToPath(new URL('../../../inference/samples/', import.meta.url));

/** The shipped .onnx files: trained ones first (newest name last among them), untrained layout fixtures after. */
export async function shippedModelFiles(): Promise<{ trained: string[]; untrained: string[] }> {
  const files = (await readdir(MODELS_DIR)).filter((f) => f.endsWith('.onnx')).sort();
  return {
    trained: files.filter((f) => !f.includes('untrained')).map((f) => MODELS_DIR + f),
    untrained: files.filter((f) => f.includes('untrained')).map((f) => MODELS_DIR + f),
  };
}

/** A model with the shipped architecture: the newest trained one, else the untrained layout export. */
export async function anyShippedModel(): Promise<string> {
  const { trained, untrained } = await shippedModelFiles();
  const file = trained.at(-1) ?? untrained.at(-1);
  if (!file) throw new Error(`no .onnx model in ${MODELS_DIR}`);
  return file;
}
