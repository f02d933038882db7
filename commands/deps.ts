import { newApiKeyId, newApiKeySecret } from './api-keys.js';
import type { HandlerDeps } from './handle-command.js';

/** What the per-aggregate handlers need; everything but the store has a production default. */
export interface CommandDeps extends HandlerDeps {
  /** Wall clock (expiry checks, the access log's day). */
  readonly clock?: () => Date;
  /** Uniform [0, 1): the traffic-split roll. */
  readonly random?: () => number;
  /** New ids (api key ids). */
  readonly newId?: () => string;
  /** New api key secrets, shown once. */
  readonly newSecret?: () => string;
}

export const clockOf = (deps: CommandDeps): Date => (deps.clock ?? (() => new Date()))();
export const rollOf = (deps: CommandDeps): number => (deps.random ?? Math.random)();
export const newIdOf = (deps: CommandDeps): string => (deps.newId ?? newApiKeyId)();
export const newSecretOf = (deps: CommandDeps): string => (deps.newSecret ?? newApiKeySecret)();
