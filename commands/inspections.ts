import type { z } from 'zod';
import {
  type FileFacts,
  type InspectionCommand,
  type InspectionState,
  inspectionDecider,
  type RequestInspectionCommand,
  requireInspectableFile,
} from '../domain/inspection/index.js';
import { selectModel } from '../domain/model/index.js';
import {
  CloseInspection,
  FailInspection,
  RecordDetections,
  RecordShadowFailure,
  RequestInspection,
  ReviewDetection,
  StartInference,
} from '../schemas/commands/inspection.js';
import { streamIdOf } from '../schemas/events/index.js';
import { evaluationBasis } from './acceptance.js';
import type { CommandResult } from './command-result.js';
import type { CommandContext } from './context.js';
import { type CommandDeps, rollOf } from './deps.js';
import { loadFile } from './files.js';
import { handleCommand } from './handle-command.js';
import { type LoadedAggregate, loadAggregate, type PointInTime } from './load-aggregate.js';
import { loadModel } from './models.js';
import { parseInput } from './parse-input.js';
import { simpleCommands } from './simple-commands.js';

export const inspectionStreamId = (inspectionId: string): string => streamIdOf('inspection', inspectionId);

/**
 * Requests an inspection: looks the file up (it must exist and not be deleted), lets the model's
 * deployment choose the version (traffic split with a roll from `deps.random`, or the pinned
 * version), and records the choice, its reason, the shadows and the thresholds.
 */
export async function requestInspection(
  deps: CommandDeps,
  input: z.input<typeof RequestInspection>,
  ctx: CommandContext,
): Promise<CommandResult> {
  const data = parseInput('RequestInspection', RequestInspection, input);
  const build = async (state: InspectionState): Promise<RequestInspectionCommand> => {
    const file = await fileFactsOf(deps, data.fileId);
    const base = { inspectionId: data.inspectionId, fileId: data.fileId, file };
    // A repeat of an existing request is decided on what was recorded, not on today's deployment.
    if (state.request) {
      const { model, selection, shadows, thresholds } = state.request;
      return { type: 'RequestInspection', actor: ctx.actor, data: { ...base, model, selection, shadows, thresholds } };
    }
    requireInspectableFile(data.fileId, file);
    const { state: model } = await loadModel(deps, data.modelName);
    const selected = selectModel(model, {
      name: data.modelName,
      ...(data.modelVersion !== undefined ? { version: data.modelVersion } : {}),
      roll: rollOf(deps),
      ...(data.thresholds !== undefined ? { thresholds: data.thresholds } : {}),
    });
    return { type: 'RequestInspection', actor: ctx.actor, data: { ...base, ...selected } };
  };
  return handleCommand(deps, inspectionDecider, inspectionStreamId(data.inspectionId), build, ctx);
}

async function fileFactsOf(deps: CommandDeps, fileId: string): Promise<FileFacts> {
  const { state } = await loadFile(deps, fileId);
  if (state.status === 'absent') return null;
  return { sha256: state.upload.sha256, deleted: state.status === 'deleted' };
}

type SimpleType = Exclude<
  InspectionCommand['type'],
  'RequestInspection' | 'CloseInspection' | 'EvaluateInspection' | 'IssueReport'
>;
const schemas = {
  StartInference,
  RecordDetections,
  FailInspection,
  RecordShadowFailure,
  ReviewDetection,
} satisfies Record<SimpleType, z.ZodType>;

const run = simpleCommands(
  inspectionDecider,
  schemas,
  (data: { inspectionId: string }) => inspectionStreamId(data.inspectionId),
  // A verdict on one detection does not depend on the others; a shadow failure on nothing but its own absence.
  { commutative: ['ReviewDetection', 'RecordShadowFailure'] },
);

/** A processor took the request (a redelivered attempt records nothing). */
export const startInference = (deps: CommandDeps, input: z.input<typeof StartInference>, ctx: CommandContext) =>
  run('StartInference', deps, input, ctx);
/** A processor's live or shadow result (a redelivery records nothing). */
export const recordDetections = (deps: CommandDeps, input: z.input<typeof RecordDetections>, ctx: CommandContext) =>
  run('RecordDetections', deps, input, ctx);
/** A processor's failed attempt; final ends the inspection (a redelivery records nothing). */
export const failInspection = (deps: CommandDeps, input: z.input<typeof FailInspection>, ctx: CommandContext) =>
  run('FailInspection', deps, input, ctx);
/** A shadow model gave no detections; recorded once, the inspection is unaffected. */
export const recordShadowFailure = (
  deps: CommandDeps,
  input: z.input<typeof RecordShadowFailure>,
  ctx: CommandContext,
) => run('RecordShadowFailure', deps, input, ctx);
/** A reviewer's verdict on one live detection; the reviewer is `ctx.actor`. */
export const reviewDetection = (deps: CommandDeps, input: z.input<typeof ReviewDetection>, ctx: CommandContext) =>
  run('ReviewDetection', deps, input, ctx);
/** Closes with an outcome; with `profileId` (and optionally `revision`) it records the verdict first. */
export async function closeInspection(
  deps: CommandDeps,
  input: z.input<typeof CloseInspection>,
  ctx: CommandContext,
): Promise<CommandResult> {
  const { profileId, revision, ...data } = parseInput('CloseInspection', CloseInspection, input);
  return handleCommand(
    deps,
    inspectionDecider,
    inspectionStreamId(data.inspectionId),
    async (state: InspectionState) => ({
      type: 'CloseInspection' as const,
      actor: ctx.actor,
      data:
        profileId !== undefined && state.status !== 'closed' && state.ended === 'detected'
          ? { ...data, evaluation: await evaluationBasis(deps, state, profileId, revision) }
          : data,
    }),
    ctx,
  );
}

export function loadInspection(
  deps: CommandDeps,
  inspectionId: string,
  at: PointInTime = {},
): Promise<LoadedAggregate<InspectionState>> {
  return loadAggregate(deps.store, inspectionDecider, inspectionStreamId(inspectionId), at, deps.states);
}
