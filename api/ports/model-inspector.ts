/** What an uploaded ONNX file turned out to be. */
export interface InspectedModel {
  readonly outputLayout: 'yolo' | 'yolo-nms';
  readonly classes: readonly string[];
  readonly inputSize: { readonly width: number; readonly height: number };
  /** From the ONNX metadata; used when the client gives none. */
  readonly description: string;
}

export type ModelInspection =
  | { readonly ok: true; readonly model: InspectedModel }
  | { readonly ok: false; readonly code: string; readonly reason: string };

/** Loads the bytes as an ONNX detector and reads its classes and input size, or says why not. */
export interface ModelInspector {
  inspect(bytes: Buffer): Promise<ModelInspection>;
}
