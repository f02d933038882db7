import type { Worker } from 'node:worker_threads';
import type {
  GraphOptimizationLevel,
  SessionWorkerOptions,
  TensorInfo,
  WireTensor,
  WorkerReply,
  WorkerRequest,
} from './session-protocol.js';
import { startWorker, workerModuleUrl } from './start-worker.js';

export type { GraphOptimizationLevel, TensorInfo } from './session-protocol.js';

export interface SessionPoolOptions {
  /** Threads per session for one operator (default 1: sessions share a small machine). */
  readonly intraOpNumThreads?: number;
  readonly interOpNumThreads?: number;
  readonly graphOptimizationLevel?: GraphOptimizationLevel;
  /** Try the CUDA execution provider first, CPU as fallback (default: CHITTI_CUDA=1). */
  readonly cuda?: boolean;
}

export class ModelSessionError extends Error {
  readonly code = 'model-session-error';
}

export interface InferenceOutput {
  readonly name: string;
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

export interface InferenceResult {
  readonly outputs: readonly InferenceOutput[];
  /** Time inside session.run in the worker. */
  readonly inferenceMs: number;
}

/** One onnxruntime session in its own worker thread. */
export interface ModelSession {
  readonly key: string;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly executionProviders: readonly string[];
  readonly fallbackReason: string | null;
  /**
   * Runs the model on one float32 input. The input's buffer is transferred to the worker (it is
   * detached here afterwards) when the array spans its whole buffer; otherwise it is copied.
   */
  run(data: Float32Array, dims: readonly number[]): Promise<InferenceResult>;
}

export interface LoadOptions {
  /** Input dims for one warm-up run after loading; omitted = no warm-up. */
  readonly warmupDims?: readonly number[];
}

const workerUrl = workerModuleUrl(import.meta.url, 'session-worker');

/**
 * Sessions keyed by model version (sha256): each created once, in its own worker, warmed up and
 * reused. Creating and releasing sessions leaks memory in onnxruntime, so a loaded session stays
 * until the pool closes.
 */
export class SessionPool {
  private readonly sessions = new Map<string, Promise<WorkerSession>>();
  private readonly workerOptions: SessionWorkerOptions;
  private closed = false;

  constructor(options: SessionPoolOptions = {}) {
    const cuda = options.cuda ?? process.env.CHITTI_CUDA === '1';
    this.workerOptions = {
      intraOpNumThreads: options.intraOpNumThreads ?? 1,
      interOpNumThreads: options.interOpNumThreads ?? 1,
      graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
      executionProviders: cuda ? ['cuda', 'cpu'] : ['cpu'],
    };
  }

  has(key: string): boolean {
    return this.sessions.has(key);
  }

  /**
   * The session for `key`, loading it on first use; concurrent callers share one load.
   * `model` is only called when the session does not exist yet.
   */
  async load(
    key: string,
    model: () => Promise<Uint8Array> | Uint8Array,
    options: LoadOptions = {},
  ): Promise<ModelSession> {
    if (this.closed) throw new ModelSessionError('session pool is closed');
    let pending = this.sessions.get(key);
    if (!pending) {
      pending = WorkerSession.start(key, model, this.workerOptions, options);
      this.sessions.set(key, pending);
      pending.catch(() => this.sessions.delete(key));
    }
    const session = await pending;
    if (session.dead) {
      // The worker died (crash, OOM): forget it so the next call starts a fresh one.
      if (this.sessions.get(key) === pending) this.sessions.delete(key);
      return this.load(key, model, options);
    }
    return session;
  }

  /**
   * Ends one session and its worker. For sessions that will not be used again (a refused model
   * after inspection); do not use it to reload models back and forth, which leaks in onnxruntime.
   */
  async release(key: string): Promise<void> {
    const pending = this.sessions.get(key);
    if (!pending) return;
    this.sessions.delete(key);
    await (await pending.catch(() => undefined))?.terminate();
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.terminate()));
  }
}

class WorkerSession implements ModelSession {
  private readonly pending = new Map<number, { resolve: (reply: WorkerReply) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  dead = false;
  inputs: readonly TensorInfo[] = [];
  outputs: readonly TensorInfo[] = [];
  executionProviders: readonly string[] = [];
  fallbackReason: string | null = null;

  private constructor(
    readonly key: string,
    private readonly worker: Worker,
  ) {
    worker.on('message', (reply: WorkerReply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.kind === 'error') waiter.reject(new ModelSessionError(reply.message));
      else waiter.resolve(reply);
    });
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new ModelSessionError(`session worker exited with code ${code}`)));
  }

  static async start(
    key: string,
    model: () => Promise<Uint8Array> | Uint8Array,
    workerOptions: SessionWorkerOptions,
    options: LoadOptions,
  ): Promise<WorkerSession> {
    const bytes = await model();
    const worker = startWorker(workerUrl, workerOptions);
    const session = new WorkerSession(key, worker);
    try {
      // A copy, so the caller's buffer (maybe a pooled Buffer) is never detached.
      const copy = new Uint8Array(bytes);
      const loaded = await session.request({ kind: 'load', id: 0, model: copy }, [copy.buffer]);
      if (loaded.kind !== 'loaded') throw new ModelSessionError('unexpected reply to load');
      session.inputs = loaded.inputs;
      session.outputs = loaded.outputs;
      session.executionProviders = loaded.executionProviders;
      session.fallbackReason = loaded.fallbackReason;
      if (options.warmupDims) {
        const size = options.warmupDims.reduce((a, b) => a * b, 1);
        await session.run(new Float32Array(size), options.warmupDims);
      }
      return session;
    } catch (error) {
      await session.terminate();
      throw error;
    }
  }

  async run(data: Float32Array, dims: readonly number[]): Promise<InferenceResult> {
    const owned = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
    const input: WireTensor = { data: owned, dims: [...dims] };
    const reply = await this.request({ kind: 'run', id: 0, input }, [owned.buffer as ArrayBuffer]);
    if (reply.kind !== 'result') throw new ModelSessionError('unexpected reply to run');
    return { outputs: reply.outputs, inferenceMs: reply.inferenceMs };
  }

  async terminate(): Promise<void> {
    this.dead = true;
    await this.worker.terminate();
  }

  /** Sends `message` under a fresh id (the id given is replaced). */
  private request(message: WorkerRequest, transfer: ArrayBuffer[]): Promise<WorkerReply> {
    if (this.dead) return Promise.reject(new ModelSessionError('session worker is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  private fail(error: Error): void {
    this.dead = true;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}
