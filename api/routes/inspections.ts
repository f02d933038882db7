import { v7 as uuidv7 } from 'uuid';
import { idOf, streamIdOf } from '../../schemas/events/index.js';
import type { ApiDependencies, ResolvedApiOptions } from '../dependencies.js';
import { outwardRow } from '../disclosure.js';
import { route } from '../http/route.js';
import {
  AsOfState,
  CloseBody,
  CommandAccepted,
  DetectionHitSchema,
  DetectionSearchQuery,
  GetQuery,
  InspectionDetail,
  InspectionParams,
  InspectionRow,
  ListInspectionsQuery,
  PageOf,
  RequestInspectionBody,
  ReviewBody,
  ReviewParams,
  SearchPageOf,
} from '../schemas.js';
import { asOfReply, cachedReadModelReply, commandContext, commandReply, describeAsOf, readerOf } from './helpers.js';

export const inspectionRoutes = (deps: ApiDependencies, options: ResolvedApiOptions) => [
  route({
    method: 'post',
    path: '/v1/inspections',
    operationId: 'requestInspection',
    summary: 'Request an inspection of an uploaded file; the model version is chosen and recorded',
    tag: 'inspections',
    permission: 'inspections:request',
    body: { kind: 'json', schema: RequestInspectionBody },
    responses: {
      202: { description: 'InspectionRequested recorded; detections follow asynchronously', schema: CommandAccepted },
      404: { description: 'No such file or model' },
      409: { description: 'The file was deleted, or no model version can take traffic' },
      422: {
        description:
          'Invalid body, a pinned version that is retired, or thresholds.classConfidence naming a class the chosen version does not have',
      },
    },
    handle: async (input) => {
      const inspectionId = uuidv7();
      const { fileId, model, thresholds } = input.body;
      const result = await deps.commands.requestInspection(
        {
          inspectionId,
          fileId,
          modelName: model?.name ?? options.defaultModelName,
          ...(model?.version ? { modelVersion: model.version } : {}),
          ...(thresholds ? { thresholds } : {}),
        },
        commandContext(input),
      );
      // A retry of a request committed before its answer was lost names the first inspection.
      const recordedId = idOf(result.streamId);
      return commandReply(result, {
        status: 202,
        location: `/v1/inspections/${recordedId}`,
        body: { inspectionId: recordedId },
      });
    },
  }),
  route({
    method: 'get',
    path: '/v1/inspections',
    operationId: 'listInspections',
    summary: 'List inspections (newest first)',
    tag: 'inspections',
    permission: 'inspections:read',
    query: ListInspectionsQuery,
    responses: { 200: { description: 'A page of inspections', schema: PageOf(InspectionRow) } },
    handle: async (input) => {
      const page = await deps.queries.listInspections(input.query);
      const reader = readerOf(input);
      return { status: 200, body: { ...page, items: page.items.map((row) => outwardRow(reader, 'inspection', row)) } };
    },
  }),
  route({
    method: 'get',
    path: '/v1/inspections/:inspectionId',
    operationId: 'getInspection',
    summary: 'An inspection with its detections and reviews; with ?asOf= (auditors) as it was then',
    tag: 'inspections',
    permission: 'inspections:read',
    params: InspectionParams,
    query: GetQuery,
    sensitive: ({ params, query }) =>
      query.asOf
        ? {
            action: 'aggregate.as-of',
            resource: `inspection-${params.inspectionId}?${describeAsOf(query.asOf)}`,
            permission: 'history:as-of',
          }
        : undefined,
    responses: {
      200: {
        description: 'The inspection (ETag = stream version); with ?asOf= the folded aggregate instead',
        schema: InspectionDetail.or(AsOfState),
      },
      404: { description: 'No such inspection' },
    },
    handle: async (input) => {
      const { params, query } = input;
      return query.asOf
        ? asOfReply(deps.history, readerOf(input), streamIdOf('inspection', params.inspectionId), query.asOf)
        : cachedReadModelReply(
            deps.inspectionCache,
            deps.history,
            streamIdOf('inspection', params.inspectionId),
            input,
            async (reader) => outwardRow(reader, 'inspection', await deps.queries.getInspection(params.inspectionId)),
            `inspection ${params.inspectionId}`,
          );
    },
  }),
  route({
    method: 'post',
    path: '/v1/inspections/:inspectionId/detections/:detectionId/review',
    operationId: 'reviewDetection',
    summary: 'Confirm, reject or relabel one live detection',
    tag: 'inspections',
    permission: 'inspections:review',
    conditional: true,
    params: ReviewParams,
    body: { kind: 'json', schema: ReviewBody },
    responses: {
      200: { description: 'DetectionReviewed recorded', schema: CommandAccepted },
      404: { description: 'No such inspection or detection' },
      409: { description: 'The inspection is closed' },
    },
    handle: async (input) =>
      commandReply(await deps.commands.reviewDetection({ ...input.params, ...input.body }, commandContext(input))),
  }),
  route({
    method: 'post',
    path: '/v1/inspections/:inspectionId/close',
    operationId: 'closeInspection',
    summary: 'Close an inspection with an outcome; nothing more may be recorded on it',
    tag: 'inspections',
    permission: 'inspections:review',
    conditional: true,
    params: InspectionParams,
    body: { kind: 'json', schema: CloseBody },
    responses: {
      200: { description: 'InspectionClosed recorded', schema: CommandAccepted },
      404: { description: 'No such inspection' },
      409: { description: 'Already closed' },
    },
    handle: async (input) =>
      commandReply(await deps.commands.closeInspection({ ...input.params, ...input.body }, commandContext(input))),
  }),
  route({
    method: 'get',
    path: '/v1/detections',
    operationId: 'searchDetections',
    summary: 'Search detections by class, score range, model, time and free text',
    tag: 'inspections',
    permission: 'inspections:read',
    query: DetectionSearchQuery,
    responses: { 200: { description: 'A page of detections', schema: SearchPageOf(DetectionHitSchema) } },
    handle: async ({ query }) => {
      const { q, ...rest } = query;
      return { status: 200, body: await deps.search.searchDetections({ ...rest, ...(q ? { text: q } : {}) }) };
    },
  }),
];
