import * as Commands from '../../commands/index.js';
import type { ApiCommands, CommandResult } from '../ports/commands.js';

/**
 * The command handlers of `commands/`, bound to their dependencies, as the API calls them.
 * `recorded` hears each result before the caller does (read caches note the new stream version).
 */
export function bindCommands(deps: Commands.CommandDeps, recorded?: (result: CommandResult) => void): ApiCommands {
  const bound = bindAll(deps);
  if (!recorded) return bound;
  const observed: Record<string, unknown> = {};
  for (const [name, handler] of Object.entries(bound) as [string, (...args: unknown[]) => Promise<CommandResult>][]) {
    observed[name] = async (...args: unknown[]) => {
      const result = await handler(...args);
      recorded(result);
      return result;
    };
  }
  return observed as unknown as ApiCommands;
}

function bindAll(deps: Commands.CommandDeps): ApiCommands {
  return {
    uploadFile: (input, ctx) => Commands.uploadFile(deps, input, ctx),
    tagFile: (input, ctx) => Commands.tagFile(deps, input, ctx),
    deleteFile: (input, ctx) => Commands.deleteFile(deps, input, ctx),
    requestInspection: (input, ctx) => Commands.requestInspection(deps, input, ctx),
    reviewDetection: (input, ctx) => Commands.reviewDetection(deps, input, ctx),
    closeInspection: (input, ctx) => Commands.closeInspection(deps, input, ctx),
    evaluateInspection: (input, ctx) => Commands.evaluateInspection(deps, input, ctx),
    recordReportIssued: (input, ctx) => Commands.recordReportIssued(deps, input, ctx),
    createAcceptanceProfile: (input, ctx) => Commands.createAcceptanceProfile(deps, input, ctx),
    reviseAcceptanceProfile: (input, ctx) => Commands.reviseAcceptanceProfile(deps, input, ctx),
    retireAcceptanceProfile: (input, ctx) => Commands.retireAcceptanceProfile(deps, input, ctx),
    registerModel: (input, ctx) => Commands.registerModel(deps, input, ctx),
    deployModel: (input, ctx) => Commands.deployModel(deps, input, ctx),
    shiftTraffic: (input, ctx) => Commands.shiftTraffic(deps, input, ctx),
    rollBackModel: (input, ctx) => Commands.rollBackModel(deps, input, ctx),
    retireModel: (input, ctx) => Commands.retireModel(deps, input, ctx),
    deployShadow: (input, ctx) => Commands.deployShadow(deps, input, ctx),
    stopShadow: (input, ctx) => Commands.stopShadow(deps, input, ctx),
    registerUser: (input, ctx) => Commands.registerUser(deps, input, ctx),
    grantRole: (input, ctx) => Commands.grantRole(deps, input, ctx),
    revokeRole: (input, ctx) => Commands.revokeRole(deps, input, ctx),
    revokeApiKey: (input, ctx) => Commands.revokeApiKey(deps, input, ctx),
    issueApiKey: ({ keyId, secret, ...input }, ctx) =>
      Commands.issueApiKey({ ...deps, newId: () => keyId, newSecret: () => secret }, input, ctx),
    recordAccess: (input, ctx) => Commands.recordAccess(deps, input, ctx),
  };
}
