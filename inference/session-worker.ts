import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { SessionWorkerOptions, TensorInfo, WorkerReply, WorkerRequest } from './session-protocol.js';

/**
 * Holds one onnxruntime session in a worker thread: `session.run` is a synchronous native call,
 * so running it here keeps the main event loop free. Requests are served one at a time in order.
 */

const port = parentPort;
if (!port) throw new Error('session-worker must run in a worker thread');
const options = workerData as SessionWorkerOptions;
let session: ort.InferenceSession | undefined;

function describe(metadata: readonly ort.InferenceSession.ValueMetadata[]): TensorInfo[] {
  return metadata.map((m) =>
    m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] },
  );
}

async function create(model: Uint8Array, providers: readonly string[]): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, {
    executionProviders: [...providers],
    intraOpNumThreads: options.intraOpNumThreads,
    interOpNumThreads: options.interOpNumThreads,
    graphOptimizationLevel: options.graphOptimizationLevel,
  });
}

async function load(id: number, model: Uint8Array): Promise<WorkerReply> {
  if (session) throw new Error('this worker already holds a session');
  let providers = options.executionProviders;
  let fallbackReason: string | null = null;
  try {
    session = await create(model, providers);
  } catch (error) {
    if (providers.length === 1 && providers[0] === 'cpu') throw error;
    fallbackReason = `${providers.join(',')} unavailable: ${(error as Error).message}`;
    providers = ['cpu'];
    session = await create(model, providers);
  }
  return {
    kind: 'loaded',
    id,
    inputs: describe(session.inputMetadata),
    outputs: describe(session.outputMetadata),
    executionProviders: providers,
    fallbackReason,
  };
}

async function run(id: number, input: { data: Float32Array; dims: readonly number[] }): Promise<WorkerReply> {
  if (!session) throw new Error('no session loaded');
  const started = performance.now();
  const results = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input.data, input.dims) });
  const inferenceMs = performance.now() - started;
  const outputs = session.outputNames.map((name) => {
    const tensor = results[name]!;
    if (tensor.type !== 'float32') throw new Error(`output ${name} is ${tensor.type}, expected float32`);
    return { name, data: tensor.data as Float32Array, dims: [...tensor.dims] };
  });
  return { kind: 'result', id, outputs, inferenceMs };
}

port.on('message', async (request: WorkerRequest) => {
  try {
    const reply =
      request.kind === 'load' ? await load(request.id, request.model) : await run(request.id, request.input);
    const transfer = reply.kind === 'result' ? reply.outputs.map((o) => o.data.buffer as ArrayBuffer) : [];
    port.postMessage(reply, transfer);
  } catch (error) {
    port.postMessage({ kind: 'error', id: request.id, message: (error as Error).message ?? String(error) });
  }
});
