import type { z } from 'zod';
import {
  type AcceptanceProfileState,
  acceptanceProfileDecider,
  pixelSpacingOfUpload,
  revisionForEvaluation,
} from '../domain/acceptance/index.js';
import type { EvaluationBasis, InspectionState } from '../domain/inspection/index.js';
import { inspectionDecider } from '../domain/inspection/index.js';
import {
  CreateAcceptanceProfile,
  EvaluateInspection,
  RetireAcceptanceProfile,
  ReviseAcceptanceProfile,
} from '../schemas/commands/acceptance.js';
import { type EventData, streamIdOf } from '../schemas/events/index.js';
import type { CommandResult } from './command-result.js';
import type { CommandContext } from './context.js';
import type { CommandDeps } from './deps.js';
import { loadFile } from './files.js';
import { handleCommand } from './handle-command.js';
import { type LoadedAggregate, loadAggregate, type PointInTime } from './load-aggregate.js';
import { parseInput } from './parse-input.js';
import { simpleCommands } from './simple-commands.js';

export const acceptanceProfileStreamId = (profileId: string): string => streamIdOf('acceptance-profile', profileId);

const run = simpleCommands(
  acceptanceProfileDecider,
  { CreateAcceptanceProfile, ReviseAcceptanceProfile, RetireAcceptanceProfile },
  (data: { profileId: string }) => acceptanceProfileStreamId(data.profileId),
);

export const createAcceptanceProfile = (
  deps: CommandDeps,
  input: z.input<typeof CreateAcceptanceProfile>,
  ctx: CommandContext,
) => run('CreateAcceptanceProfile', deps, input, ctx);
/** A new revision of the rules; verdicts already recorded keep the revision they used. */
export const reviseAcceptanceProfile = (
  deps: CommandDeps,
  input: z.input<typeof ReviseAcceptanceProfile>,
  ctx: CommandContext,
) => run('ReviseAcceptanceProfile', deps, input, ctx);
export const retireAcceptanceProfile = (
  deps: CommandDeps,
  input: z.input<typeof RetireAcceptanceProfile>,
  ctx: CommandContext,
) => run('RetireAcceptanceProfile', deps, input, ctx);

export function loadAcceptanceProfile(
  deps: CommandDeps,
  profileId: string,
  at: PointInTime = {},
): Promise<LoadedAggregate<AcceptanceProfileState>> {
  return loadAggregate(deps.store, acceptanceProfileDecider, acceptanceProfileStreamId(profileId), at, deps.states);
}

/**
 * What a verdict is judged on besides the inspection itself: the profile revision (latest unless
 * named) and the inspected file's pixel spacing as its upload recorded it (null when unknown).
 */
export async function evaluationBasis(
  deps: CommandDeps,
  state: InspectionState,
  profileId: string,
  revision: number | undefined,
): Promise<EvaluationBasis> {
  const { state: profile } = await loadAcceptanceProfile(deps, profileId);
  const { rules, ...chosen } = revisionForEvaluation(profile, profileId, revision);
  const upload = state.request ? (await loadFile(deps, state.request.fileId)).state : null;
  const uploaded = upload && upload.status !== 'absent' ? upload.upload : null;
  return { profile: chosen, rules, pixelSpacingMm: pixelSpacingOfUpload(uploaded) };
}

/** Judge an inspection against a profile revision and record the verdict (nothing when unchanged). */
export async function evaluateInspection(
  deps: CommandDeps,
  input: z.input<typeof EvaluateInspection>,
  ctx: CommandContext,
): Promise<CommandResult> {
  const data = parseInput('EvaluateInspection', EvaluateInspection, input);
  return handleCommand(
    deps,
    inspectionDecider,
    streamIdOf('inspection', data.inspectionId),
    async (state: InspectionState) => ({
      type: 'EvaluateInspection' as const,
      actor: ctx.actor,
      data: { inspectionId: data.inspectionId, ...(await evaluationBasis(deps, state, data.profileId, data.revision)) },
    }),
    ctx,
  );
}

/** Records that a report with these exact bytes was handed to `ctx.actor`. */
export function recordReportIssued(
  deps: CommandDeps,
  input: Omit<EventData<'ReportIssued'>, 'issuedBy'>,
  ctx: CommandContext,
): Promise<CommandResult> {
  return handleCommand(
    deps,
    inspectionDecider,
    streamIdOf('inspection', input.inspectionId),
    { type: 'IssueReport', actor: ctx.actor, data: input },
    ctx,
  );
}
