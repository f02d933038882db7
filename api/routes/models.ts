import { checkClassConfidence } from '../../domain/model/thresholds.js';
import { ClassConfidence, streamIdOf } from '../../schemas/events/index.js';
import type { ApiDependencies, ResolvedApiOptions } from '../dependencies.js';
import { unprocessable, validationFailed } from '../http/problem.js';
import { route } from '../http/route.js';
import { validateInput } from '../http/validate.js';
import {
  AsOfState,
  CommandAccepted,
  DeployBody,
  GetQuery,
  ModelDetail,
  ModelMetrics,
  ModelParams,
  ModelRows,
  ModelVersionParams,
  RegisteredModel,
  RegisterModelQuery,
  RetireBody,
  RollbackBody,
  ShadowBody,
  ShiftBody,
} from '../schemas.js';
import { looksLikeOnnx } from '../uploads/sniff.js';
import { asOfReply, commandContext, commandReply, describeAsOf, readerOf, readModelReply } from './helpers.js';

function parseMetricsHeader(header: string | undefined): Record<string, number> {
  if (!header) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(header);
  } catch {
    throw validationFailed(400, [{ pointer: 'header/x-model-metrics', message: 'not JSON' }]);
  }
  return validateInput(ModelMetrics, parsed, 'header/x-model-metrics', 400) as Record<string, number>;
}

/** `X-Model-Class-Confidence`: a JSON object class name -> confidence (per-class thresholds). */
function parseClassConfidenceHeader(header: string | undefined): ClassConfidence | undefined {
  if (header === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(header);
  } catch {
    throw validationFailed(400, [{ pointer: 'header/x-model-class-confidence', message: 'not JSON' }]);
  }
  return validateInput(ClassConfidence, parsed, 'header/x-model-class-confidence', 400) as ClassConfidence;
}

export const modelRoutes = (deps: ApiDependencies, options: ResolvedApiOptions) => [
  route({
    method: 'post',
    path: '/v1/models/:name/versions',
    operationId: 'registerModelVersion',
    summary: 'Upload an ONNX detector as a new version; it is loaded and checked before it is recorded',
    tag: 'models',
    permission: 'models:manage',
    params: ModelParams,
    query: RegisterModelQuery,
    headers: [
      { name: 'X-Model-Metrics', description: 'JSON object of evaluation metrics, e.g. {"mAP50":0.83}' },
      {
        name: 'X-Model-Class-Confidence',
        description:
          'JSON object of per-class confidence thresholds of this version’s deployments that name none, e.g. {"crack":0.3,"porosity":0.65}: each key one of the model’s class names (ONNX metadata names, at most 64), each value in [0, 1]; a class without one uses confidence',
      },
    ],
    body: {
      kind: 'binary',
      mediaTypes: ['application/octet-stream', 'application/onnx'],
      maxBytes: options.maxModelBytes,
      description: 'The .onnx file',
    },
    responses: {
      201: { description: 'ModelRegistered recorded', schema: RegisteredModel },
      409: { description: 'This version (or these exact bytes) is already registered' },
      422: {
        description:
          'Not a loadable ONNX detection model (the reason says why), or a per-class confidence names a class the model does not have',
      },
    },
    handle: async (input) => {
      const bytes = input.body as Buffer;
      const metrics = parseMetricsHeader(input.req.get('x-model-metrics'));
      const classConfidence = parseClassConfidenceHeader(input.req.get('x-model-class-confidence'));
      if (!looksLikeOnnx(bytes)) {
        throw unprocessable('invalid-model', 'Not an ONNX model', 'the bytes are not an ONNX protobuf model');
      }
      const inspection = await deps.modelInspector.inspect(bytes);
      if (!inspection.ok) {
        throw unprocessable(`invalid-model/${inspection.code}`, 'Not a usable ONNX detection model', inspection.reason);
      }
      // Refused before the bytes are stored (the decider checks again): a class the model lacks.
      checkClassConfidence(input.params.name, input.query.version, inspection.model.classes, { classConfidence });
      const stored = await (deps.modelBlobs ?? deps.blobs).put(bytes);
      const registered = {
        name: input.params.name,
        version: input.query.version,
        sha256: stored.sha256,
        sizeBytes: stored.sizeBytes,
        outputLayout: inspection.model.outputLayout,
        classes: [...inspection.model.classes],
        inputSize: { ...inspection.model.inputSize },
      };
      const description = input.query.description ?? inspection.model.description.slice(0, 2000);
      const { confidence, iou, maxDetections } = input.query;
      const given = Object.entries({ confidence, iou, maxDetections, classConfidence }).filter(
        ([, v]) => v !== undefined,
      );
      const thresholds = given.length > 0 ? { thresholds: Object.fromEntries(given) } : {};
      const { tileOverlapPx, tileMmPerInputPixel, letterboxMaxShrink } = input.query;
      const tiled =
        tileOverlapPx !== undefined || tileMmPerInputPixel !== undefined || letterboxMaxShrink !== undefined;
      const side = Math.min(registered.inputSize.width, registered.inputSize.height);
      const tiling = tiled
        ? {
            tiling: {
              overlapPx: tileOverlapPx ?? Math.floor(side / 5),
              mmPerInputPixel: tileMmPerInputPixel ?? null,
              maxLetterboxShrink: letterboxMaxShrink ?? 1,
            },
          }
        : {};
      const result = await deps.commands.registerModel(
        { ...registered, metrics, description, ...thresholds, ...tiling },
        commandContext(input),
      );
      return {
        status: 201,
        headers: {
          Location: `/v1/models/${registered.name}`,
          ETag: `"${result.nextExpectedVersion}"`,
        },
        body: { ...registered, streamVersion: result.nextExpectedVersion },
      };
    },
  }),
  route({
    method: 'get',
    path: '/v1/models',
    operationId: 'listModels',
    summary: 'Models with their versions, deployments and traffic split',
    tag: 'models',
    permission: 'models:read',
    responses: { 200: { description: 'Every model', schema: ModelRows } },
    handle: async () => ({ status: 200, body: { items: await deps.queries.listModels() } }),
  }),
  route({
    method: 'get',
    path: '/v1/models/:name',
    operationId: 'getModel',
    summary: 'A model; with ?asOf= (auditors) as it was then',
    tag: 'models',
    permission: 'models:read',
    params: ModelParams,
    query: GetQuery,
    sensitive: ({ params, query }) =>
      query.asOf
        ? {
            action: 'aggregate.as-of',
            resource: `model-${params.name}?${describeAsOf(query.asOf)}`,
            permission: 'history:as-of',
          }
        : undefined,
    responses: {
      200: { description: 'The model (ETag = stream version)', schema: ModelDetail.or(AsOfState) },
      404: { description: 'No such model' },
    },
    handle: async (input) => {
      const { params, query } = input;
      return query.asOf
        ? asOfReply(deps.history, readerOf(input), streamIdOf('model', params.name), query.asOf)
        : readModelReply(
            deps.history,
            streamIdOf('model', params.name),
            await deps.queries.getModel(params.name),
            `model ${params.name}`,
          );
    },
  }),
  route({
    method: 'post',
    path: '/v1/models/:name/deployments',
    operationId: 'deployModel',
    summary: 'Deploy a registered version with the resulting traffic split (canary = a small first share)',
    tag: 'models',
    permission: 'models:manage',
    conditional: true,
    params: ModelParams,
    body: { kind: 'json', schema: DeployBody },
    responses: {
      200: { description: 'ModelDeployed recorded', schema: CommandAccepted },
      404: { description: 'No such model or version' },
      422: {
        description:
          'Weights do not sum to 100, name a retired or unknown version, or thresholds.classConfidence names a class the version does not have',
      },
    },
    handle: async (input) =>
      commandReply(await deps.commands.deployModel({ name: input.params.name, ...input.body }, commandContext(input))),
  }),
  route({
    method: 'post',
    path: '/v1/models/:name/traffic',
    operationId: 'shiftTraffic',
    summary: 'Change the traffic split between live versions',
    tag: 'models',
    permission: 'models:manage',
    conditional: true,
    params: ModelParams,
    body: { kind: 'json', schema: ShiftBody },
    responses: { 200: { description: 'TrafficShifted recorded', schema: CommandAccepted } },
    handle: async (input) =>
      commandReply(await deps.commands.shiftTraffic({ name: input.params.name, ...input.body }, commandContext(input))),
  }),
  route({
    method: 'post',
    path: '/v1/models/:name/rollback',
    operationId: 'rollbackModel',
    summary: 'Return all traffic from one version to a previously deployed one',
    tag: 'models',
    permission: 'models:manage',
    conditional: true,
    params: ModelParams,
    body: { kind: 'json', schema: RollbackBody },
    responses: { 200: { description: 'ModelRolledBack recorded', schema: CommandAccepted } },
    handle: async (input) =>
      commandReply(
        await deps.commands.rollBackModel({ name: input.params.name, ...input.body }, commandContext(input)),
      ),
  }),
  route({
    method: 'post',
    path: '/v1/models/:name/versions/:version/retire',
    operationId: 'retireModelVersion',
    summary: 'Retire a version that holds no traffic; it may never take traffic again',
    tag: 'models',
    permission: 'models:manage',
    conditional: true,
    params: ModelVersionParams,
    body: { kind: 'json', schema: RetireBody },
    responses: { 200: { description: 'ModelRetired recorded', schema: CommandAccepted } },
    handle: async (input) =>
      commandReply(await deps.commands.retireModel({ ...input.params, ...input.body }, commandContext(input))),
  }),
  route({
    method: 'post',
    path: '/v1/models/:name/shadows',
    operationId: 'startShadow',
    summary: 'Run a registered version in shadow beside live traffic',
    tag: 'models',
    permission: 'models:manage',
    conditional: true,
    params: ModelParams,
    body: { kind: 'json', schema: ShadowBody },
    responses: { 200: { description: 'ShadowDeployed recorded', schema: CommandAccepted } },
    handle: async (input) =>
      commandReply(
        await deps.commands.deployShadow(
          { name: input.params.name, version: input.body.version },
          commandContext(input),
        ),
      ),
  }),
  route({
    method: 'delete',
    path: '/v1/models/:name/shadows/:version',
    operationId: 'stopShadow',
    summary: 'Stop a shadow version',
    tag: 'models',
    permission: 'models:manage',
    conditional: true,
    params: ModelVersionParams,
    responses: { 200: { description: 'ShadowStopped recorded', schema: CommandAccepted } },
    handle: async (input) => commandReply(await deps.commands.stopShadow(input.params, commandContext(input))),
  }),
];
