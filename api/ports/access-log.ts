import type { AccessAction, CommandContext } from './commands.js';

/** One sensitive read, allowed or denied, as the pipeline reports it. */
export interface AccessAttempt {
  readonly action: AccessAction;
  readonly resource: string;
  readonly decision: 'allowed' | 'denied';
  readonly reason: string | null;
  /** The route it came through (`GET /v1/files/:fileId`): denials are coalesced per actor and route. */
  readonly route: string;
}

/**
 * Where the pipeline puts sensitive reads on the record (`api/access/access-log.ts` fits). An
 * allowed read is written before it happens; a denial may be counted and written later, but never
 * lost on a clean shutdown (`flush`).
 */
export interface AccessLog {
  record(attempt: AccessAttempt, ctx: CommandContext): Promise<void>;
  /** Writes every count still open; the composition root calls it on shutdown. */
  flush(): Promise<void>;
}
