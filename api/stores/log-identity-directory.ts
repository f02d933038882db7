import type { GlobalLog, LogSubscription } from '../../commands/ports/event-store.js';
import { categoryOf, decodeStored, type RecordedEvent, type Role } from '../../schemas/events/index.js';
import type { ApiKeyRecord, Freshness, IdentityDirectory, UserRecord } from '../ports/identity.js';
import { BoundedStaleness } from './bounded-staleness.js';

interface MutableKey {
  keyId: string;
  userId: string;
  secretSha256: string;
  expiresAt: Date | null;
  revoked: boolean;
}

/**
 * Users, roles and API keys folded in memory from the user streams of the global log (a handful of
 * rows per user). Every lookup first catches up with the log head, so a key issued or revoked a
 * moment ago is seen as such. Start it with `start()`, end it with `stop()`.
 */
export class LogIdentityDirectory implements IdentityDirectory {
  private readonly keys = new Map<string, MutableKey>();
  private readonly users = new Map<string, Set<Role>>();
  private subscription: LogSubscription | undefined;
  private position = 0;
  private readonly freshness = new BoundedStaleness(() => this.catchUpToHead());

  /** `onError` hears every failed read; the subscription retries by itself, through outages too. */
  constructor(
    private readonly log: GlobalLog,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  start(): void {
    if (this.subscription) return;
    this.subscription = this.log.subscribe({
      after: 0,
      batchSize: 500,
      name: 'identity',
      onError: this.onError,
      handle: async (batch) => {
        for (const event of batch) this.apply(event);
        this.position = batch.at(-1)?.globalPosition ?? this.position;
      },
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
    this.subscription = undefined;
  }

  async findApiKey(keyId: string, freshness: Freshness = {}): Promise<ApiKeyRecord | undefined> {
    // By default up to the head: a key revoked a moment ago must not open a session.
    await this.freshness.ensure(freshness.maxStalenessMs ?? 0);
    const key = this.keys.get(keyId);
    return key ? { ...key } : undefined;
  }

  async findUser(userId: string, freshness: Freshness = {}): Promise<UserRecord | undefined> {
    await this.freshness.ensure(freshness.maxStalenessMs ?? 0);
    const roles = this.users.get(userId);
    return roles ? { userId, roles: [...roles].sort() } : undefined;
  }

  /** Waits until every event committed before this call has been applied. */
  private async catchUpToHead(): Promise<void> {
    if (!this.subscription) throw new Error('LogIdentityDirectory is not started');
    const head = await this.log.headPosition();
    // Fail fast while the subscription is retrying (an outage answers 503), instead of hanging.
    if (head > this.position) await this.subscription.caughtUpTo(head, { failFast: true });
  }

  private apply(recorded: RecordedEvent): void {
    if (categoryOf(recorded.streamId) !== 'user') return;
    const event = decodeStored(recorded);
    switch (event.type) {
      case 'UserRegistered':
        if (!this.users.has(event.data.userId)) this.users.set(event.data.userId, new Set());
        break;
      case 'RoleGranted':
        this.rolesOf(event.data.userId).add(event.data.role);
        break;
      case 'RoleRevoked':
        this.rolesOf(event.data.userId).delete(event.data.role);
        break;
      case 'ApiKeyIssued':
        this.keys.set(event.data.keyId, {
          keyId: event.data.keyId,
          userId: event.data.userId,
          secretSha256: event.data.secretSha256,
          expiresAt: event.data.expiresAt ? new Date(event.data.expiresAt) : null,
          revoked: false,
        });
        break;
      case 'ApiKeyRevoked': {
        const key = this.keys.get(event.data.keyId);
        if (key) key.revoked = true;
        break;
      }
      default:
        break;
    }
  }

  private rolesOf(userId: string): Set<Role> {
    let roles = this.users.get(userId);
    if (!roles) {
      roles = new Set();
      this.users.set(userId, roles);
    }
    return roles;
  }
}
