import pg from 'pg';
import { backoffCeiling } from '../../commands/ports/backoff.js';

/**
 * Holds one dedicated LISTEN connection and wakes every waiter when the channel fires. On a lost
 * connection it reconnects with backoff and wakes everyone (notifications may have been missed
 * meanwhile, so readers must look again).
 */
export class LogNotifier {
  private client: pg.Client | undefined;
  private waiters = new Set<() => void>();
  private connecting: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private failures = 0;
  private wakeups = 0;

  constructor(
    private readonly connectionConfig: pg.ClientConfig,
    private readonly channel: string,
    private readonly onError: (error: unknown) => void = () => undefined,
    private readonly maxBackoffMs = 5_000,
    /** Gets every notification's payload (the append's commit notice). */
    private readonly onNotice: (payload: string) => void = () => undefined,
  ) {}

  /** Connects if not yet connected; resolves once LISTEN is active (or the attempt failed and a retry is scheduled). */
  start(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.client) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** Resolves at the next notification, reconnect, close, or after `timeoutMs` (the safety poll). */
  wait(timeoutMs: number): { promise: Promise<void>; cancel: () => void } {
    let wake!: () => void;
    const promise = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const timer = setTimeout(() => done(), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      this.waiters.delete(done);
      wake();
    };
    this.waiters.add(done);
    return { promise, cancel: done };
  }

  /** Moves at every wake-up (notification, reconnect, close), before the waiters are woken. */
  epoch(): number {
    return this.wakeups;
  }

  /** The epoch while listening; undefined while not (notifications may be missed meanwhile). */
  listeningEpoch(): number | undefined {
    return this.client && !this.closed ? this.wakeups : undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    await this.connecting?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    this.wakeAll();
    await client?.end().catch(() => undefined);
  }

  private wakeAll(): void {
    this.wakeups++;
    for (const waiter of [...this.waiters]) waiter();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.connectionConfig);
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('listen connection ended')));
    client.on('notification', (message) => {
      if (message.channel !== this.channel) return;
      if (message.payload) this.onNotice(message.payload);
      this.wakeAll();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.channel)}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      this.scheduleReconnect(error);
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.failures = 0;
    // Back after an outage: subscriptions waiting out a backoff try again now.
    this.wakeAll();
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.wakeAll();
    this.scheduleReconnect(error);
  }

  private scheduleReconnect(error: unknown): void {
    if (this.closed) return;
    this.onError(error);
    this.failures++;
    const delay = backoffCeiling(this.failures, 100, this.maxBackoffMs);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.start().catch(this.onError);
    }, delay);
    this.reconnectTimer.unref();
  }
}
