import type * as Commands from '../../commands/index.js';

export type { CommandContext, CommandResult } from '../../commands/index.js';

/** A command handler with its dependencies already bound: `(input, ctx) => result`. */
type Bound<F> = F extends (deps: Commands.CommandDeps, ...args: infer A) => infer R ? (...args: A) => R : never;

type IssueApiKeyInput = Parameters<typeof Commands.issueApiKey>[1];

/**
 * The write side as the API calls it: the command handlers of `commands/`, bound to their store
 * (see `api/adapters/bind-commands.ts`). Domain rule violations, missing aggregates and
 * concurrency conflicts arrive as typed errors and become problem responses.
 */
export interface ApiCommands {
  readonly uploadFile: Bound<typeof Commands.uploadFile>;
  readonly tagFile: Bound<typeof Commands.tagFile>;
  readonly deleteFile: Bound<typeof Commands.deleteFile>;
  readonly requestInspection: Bound<typeof Commands.requestInspection>;
  readonly reviewDetection: Bound<typeof Commands.reviewDetection>;
  readonly closeInspection: Bound<typeof Commands.closeInspection>;
  readonly evaluateInspection: Bound<typeof Commands.evaluateInspection>;
  readonly recordReportIssued: Bound<typeof Commands.recordReportIssued>;
  readonly createAcceptanceProfile: Bound<typeof Commands.createAcceptanceProfile>;
  readonly reviseAcceptanceProfile: Bound<typeof Commands.reviseAcceptanceProfile>;
  readonly retireAcceptanceProfile: Bound<typeof Commands.retireAcceptanceProfile>;
  readonly registerModel: Bound<typeof Commands.registerModel>;
  readonly deployModel: Bound<typeof Commands.deployModel>;
  readonly shiftTraffic: Bound<typeof Commands.shiftTraffic>;
  readonly rollBackModel: Bound<typeof Commands.rollBackModel>;
  readonly retireModel: Bound<typeof Commands.retireModel>;
  readonly deployShadow: Bound<typeof Commands.deployShadow>;
  readonly stopShadow: Bound<typeof Commands.stopShadow>;
  readonly registerUser: Bound<typeof Commands.registerUser>;
  readonly grantRole: Bound<typeof Commands.grantRole>;
  readonly revokeRole: Bound<typeof Commands.revokeRole>;
  readonly revokeApiKey: Bound<typeof Commands.revokeApiKey>;
  /**
   * The API makes the key id and secret (its token format is `chitti_<keyId>_<secret>`); the
   * event records only the secret's sha256.
   */
  issueApiKey(
    input: IssueApiKeyInput & { readonly keyId: string; readonly secret: string },
    ctx: Commands.CommandContext,
  ): Promise<Commands.CommandResult>;
  readonly recordAccess: Bound<typeof Commands.recordAccess>;
}

export type AccessAction = Parameters<ApiCommands['recordAccess']>[0]['action'];
