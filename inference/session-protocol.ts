/** Messages between SessionPool (main thread) and session-worker (one worker per model version). */

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface SessionWorkerOptions {
  readonly intraOpNumThreads: number;
  readonly interOpNumThreads: number;
  readonly graphOptimizationLevel: GraphOptimizationLevel;
  /** Tried in order; on failure to create a session the worker falls back to ['cpu']. */
  readonly executionProviders: readonly string[];
}

export interface TensorInfo {
  readonly name: string;
  /** 'float32', 'int64', ... or 'non-tensor'. */
  readonly type: string;
  /** Numbers, or strings for symbolic dimensions; empty when unknown. */
  readonly shape: readonly (number | string)[];
}

export interface WireTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

export type WorkerRequest =
  | { readonly kind: 'load'; readonly id: number; readonly model: Uint8Array }
  | { readonly kind: 'run'; readonly id: number; readonly input: WireTensor };

export type WorkerReply =
  | {
      readonly kind: 'loaded';
      readonly id: number;
      readonly inputs: readonly TensorInfo[];
      readonly outputs: readonly TensorInfo[];
      readonly executionProviders: readonly string[];
      /** Why the preferred providers were not used, when the worker fell back to CPU. */
      readonly fallbackReason: string | null;
    }
  | {
      readonly kind: 'result';
      readonly id: number;
      readonly outputs: readonly (WireTensor & { readonly name: string })[];
      readonly inferenceMs: number;
    }
  | { readonly kind: 'error'; readonly id: number; readonly message: string };
