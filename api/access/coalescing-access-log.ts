import type { AccessAttempt, AccessLog } from '../ports/access-log.js';
import type { ApiCommands, CommandContext } from '../ports/commands.js';
import type { ApiLogger } from '../ports/logger.js';

export interface CoalescingOptions {
  /** After a recorded denial, how long further denials of the same actor and route are only counted. */
  readonly windowMs?: number;
  /** Open windows kept at most (memory bound); the oldest is written out early to make room. */
  readonly maxOpenWindows?: number;
  readonly now?: () => number;
}

interface Window {
  readonly key: string;
  readonly first: AccessAttempt;
  readonly endsAt: number;
  readonly timer: NodeJS.Timeout;
  count: number;
  firstAt: number;
  lastAt: number;
  /** The resource every counted denial named; undefined once they differ (the route is recorded then). */
  resource: string | undefined;
  ctx: CommandContext;
}

/**
 * Records every allowed sensitive read at once, and denials without amplification: per actor,
 * action, route and reason, the first denial is recorded at once and opens a window; the denials
 * that follow within it are only counted, and written as one AccessRecorded with their count and
 * time span when the window closes (its timer, the next denial after it, eviction or `flush`).
 * Keys never include request parameters, so varying them cannot open more windows.
 */
export class CoalescingAccessLog implements AccessLog {
  private readonly open = new Map<string, Window>();
  private readonly writing = new Set<Promise<void>>();
  private readonly windowMs: number;
  private readonly maxOpenWindows: number;
  private readonly now: () => number;

  constructor(
    private readonly recordAccess: ApiCommands['recordAccess'],
    private readonly logger: ApiLogger,
    options: CoalescingOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 60_000;
    this.maxOpenWindows = options.maxOpenWindows ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  async record(attempt: AccessAttempt, ctx: CommandContext): Promise<void> {
    const { route: _route, ...access } = attempt;
    if (attempt.decision === 'allowed') {
      await this.recordAccess(access, ctx);
      return;
    }
    const key = [ctx.actor, attempt.action, attempt.route, attempt.reason ?? ''].join('\n');
    const now = this.now();
    const current = this.open.get(key);
    if (current && now < current.endsAt) {
      if (current.count === 0) current.firstAt = now;
      current.resource = current.count === 0 || current.resource === attempt.resource ? attempt.resource : undefined;
      current.count += 1;
      current.lastAt = now;
      current.ctx = ctx;
      return;
    }
    // Everything up to the write below is synchronous, so concurrent denials see this window.
    if (current) this.close(current);
    if (this.open.size >= this.maxOpenWindows) {
      const oldest = this.open.values().next().value;
      if (oldest) this.close(oldest);
    }
    const timer = setTimeout(() => {
      const window = this.open.get(key);
      if (window?.timer === timer) this.close(window);
    }, this.windowMs);
    timer.unref();
    this.open.set(key, {
      key,
      first: attempt,
      endsAt: now + this.windowMs,
      timer,
      count: 0,
      firstAt: now,
      lastAt: now,
      resource: undefined,
      ctx,
    });
    await this.recordAccess({ ...access, count: 1, window: null }, ctx);
  }

  async flush(): Promise<void> {
    for (const window of [...this.open.values()]) this.close(window);
    await Promise.allSettled([...this.writing]);
  }

  /** Takes the window out at once and writes its count (if any) in the background, tracked for `flush`. */
  private close(window: Window): void {
    if (this.open.get(window.key) === window) this.open.delete(window.key);
    clearTimeout(window.timer);
    if (window.count === 0) return;
    const { action, reason, route } = window.first;
    const write = this.recordAccess(
      {
        action,
        resource: window.resource ?? route,
        decision: 'denied',
        reason,
        count: window.count,
        window: { from: new Date(window.firstAt).toISOString(), to: new Date(window.lastAt).toISOString() },
      },
      window.ctx,
    ).then(
      () => undefined,
      (error: unknown) => {
        this.logger.error({ err: error, action, route, count: window.count }, 'recording coalesced denials failed');
      },
    );
    this.writing.add(write);
    void write.finally(() => this.writing.delete(write));
  }
}
