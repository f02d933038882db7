import type { AcceptanceProfileState } from '../../domain/acceptance/index.js';
import type { InspectionState } from '../../domain/inspection/index.js';
import { streamIdOf } from '../../schemas/events/index.js';
import type { ApiDependencies } from '../dependencies.js';
import { notFound } from '../http/problem.js';
import { route } from '../http/route.js';
import {
  AcceptanceProfile,
  CommandAccepted,
  CreateProfileBody,
  EvaluateBody,
  InspectionParams,
  ProfileParams,
  RetireProfileBody,
  ReviseProfileBody,
  Verdicts,
} from '../schemas.js';
import { commandContext, commandReply, etag } from './helpers.js';

export const acceptanceRoutes = (deps: ApiDependencies) => [
  route({
    method: 'post',
    path: '/v1/acceptance-profiles',
    operationId: 'createAcceptanceProfile',
    summary:
      'Create an acceptance profile (revision 1): per-class limits in mm and counts that turn detections into a verdict',
    tag: 'acceptance',
    permission: 'profiles:manage',
    body: { kind: 'json', schema: CreateProfileBody },
    responses: {
      201: {
        description: 'AcceptanceProfileCreated recorded (a repeat of the same creation records nothing)',
        schema: CommandAccepted,
      },
      409: { description: 'The profile id is taken by other rules' },
    },
    handle: async (input) =>
      commandReply(await deps.commands.createAcceptanceProfile(input.body, commandContext(input)), {
        status: 201,
        location: `/v1/acceptance-profiles/${input.body.profileId}`,
        body: { profileId: input.body.profileId },
      }),
  }),
  route({
    method: 'get',
    path: '/v1/acceptance-profiles/:profileId',
    operationId: 'getAcceptanceProfile',
    summary: 'An acceptance profile with every revision of its rules',
    tag: 'acceptance',
    permission: 'inspections:read',
    params: ProfileParams,
    responses: {
      200: { description: 'The profile (ETag = stream version)', schema: AcceptanceProfile },
      404: { description: 'No such profile' },
    },
    handle: async ({ params }) => {
      const loaded = await deps.history.load(streamIdOf('acceptance-profile', params.profileId));
      if (!loaded) throw notFound(`acceptance profile ${params.profileId} not found`);
      const s = loaded.state as AcceptanceProfileState;
      return {
        status: 200,
        headers: { ETag: etag(loaded.streamVersion) },
        body: {
          profileId: params.profileId,
          name: s.name,
          description: s.description,
          sample: s.sample,
          status: s.status,
          retirement: s.retirement,
          revisions: s.revisions.map((rules, i) => ({ revision: i + 1, rules })),
          streamVersion: loaded.streamVersion,
        },
      };
    },
  }),
  route({
    method: 'post',
    path: '/v1/acceptance-profiles/:profileId/revisions',
    operationId: 'reviseAcceptanceProfile',
    summary: 'A new revision of the rules; verdicts recorded against earlier revisions are never changed',
    tag: 'acceptance',
    permission: 'profiles:manage',
    conditional: true,
    params: ProfileParams,
    body: { kind: 'json', schema: ReviseProfileBody },
    responses: {
      200: {
        description: 'AcceptanceProfileRevised recorded (nothing when the rules equal the latest)',
        schema: CommandAccepted,
      },
      404: { description: 'No such profile' },
      422: { description: 'The profile is retired' },
    },
    handle: async (input) =>
      commandReply(
        await deps.commands.reviseAcceptanceProfile({ ...input.params, ...input.body }, commandContext(input)),
      ),
  }),
  route({
    method: 'post',
    path: '/v1/acceptance-profiles/:profileId/retire',
    operationId: 'retireAcceptanceProfile',
    summary: 'Retire a profile: no new evaluations; recorded verdicts stand',
    tag: 'acceptance',
    permission: 'profiles:manage',
    conditional: true,
    params: ProfileParams,
    body: { kind: 'json', schema: RetireProfileBody },
    responses: {
      200: { description: 'AcceptanceProfileRetired recorded', schema: CommandAccepted },
      404: { description: 'No such profile' },
    },
    handle: async (input) =>
      commandReply(
        await deps.commands.retireAcceptanceProfile({ ...input.params, ...input.body }, commandContext(input)),
      ),
  }),
  route({
    method: 'post',
    path: '/v1/inspections/:inspectionId/evaluations',
    operationId: 'evaluateInspection',
    summary: 'Judge the live detections, as reviewed, against a profile revision and record the verdict',
    description:
      'accept, reject, or indeterminate when a rule needs millimetres and the file has no pixel spacing (mm are never ' +
      'guessed). Rejected detections are left out, relabelled ones count as their new class. Each verdict is a new ' +
      'InspectionEvaluated event; asking again with nothing changed records nothing.',
    tag: 'acceptance',
    permission: 'inspections:review',
    conditional: true,
    params: InspectionParams,
    body: { kind: 'json', schema: EvaluateBody },
    responses: {
      200: { description: 'InspectionEvaluated recorded (or nothing when unchanged)', schema: CommandAccepted },
      404: { description: 'No such inspection, profile or revision' },
      422: { description: 'No live detections, or the profile is retired' },
    },
    handle: async (input) =>
      commandReply(await deps.commands.evaluateInspection({ ...input.params, ...input.body }, commandContext(input))),
  }),
  route({
    method: 'get',
    path: '/v1/inspections/:inspectionId/evaluations',
    operationId: 'listInspectionVerdicts',
    summary:
      'Every verdict recorded on the inspection, oldest first, each with its rules, measurements and detections used',
    tag: 'acceptance',
    permission: 'inspections:read',
    params: InspectionParams,
    responses: {
      200: { description: 'The verdicts', schema: Verdicts },
      404: { description: 'No such inspection' },
    },
    handle: async ({ params }) => {
      const streamId = streamIdOf('inspection', params.inspectionId);
      const events = await deps.history.events(streamId);
      if (events.length === 0) throw notFound(`inspection ${params.inspectionId} not found`);
      const items = events
        .filter((e) => e.type === 'InspectionEvaluated')
        .map((e) => ({
          ...(e.data as InspectionState['evaluations'][number]),
          streamVersion: e.streamVersion,
          globalPosition: e.globalPosition,
          recordedAt: e.recordedAt.toISOString(),
        }));
      return { status: 200, body: { items } };
    },
  }),
];
