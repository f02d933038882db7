export interface StoredResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

export type IdempotencyBegin =
  /** This request holds the key now, under `lease` (a token its later calls name), until the lease runs out. */
  | { readonly kind: 'started'; readonly lease: string }
  | { readonly kind: 'replay'; readonly response: StoredResponse }
  /** Another request holds a live lease; it runs out in `retryAfterSeconds` unless renewed. */
  | { readonly kind: 'in-progress'; readonly retryAfterSeconds: number }
  /** The key was used before with a different request. */
  | { readonly kind: 'mismatch' };

/**
 * Maps (principal, Idempotency-Key) to the first response, so a retried POST returns it unchanged.
 * A running request holds the key under a short lease that it renews while alive; a request that
 * died (crash, kill -9) stops renewing, and a retry after the lease takes the key over.
 */
export interface IdempotencyStore {
  begin(scope: string, key: string, requestHash: string): Promise<IdempotencyBegin>;
  /** Extends a held lease; false when it was lost (expired and taken over). */
  renew(scope: string, key: string, lease: string): Promise<boolean>;
  /** Stores the response, if the lease is still this request's. */
  complete(scope: string, key: string, lease: string, response: StoredResponse): Promise<void>;
  /** Forgets a started key whose request failed unexpectedly, so a retry runs again. */
  abandon(scope: string, key: string, lease: string): Promise<void>;
  /** How often a running request renews its lease. */
  readonly renewEveryMs: number;
}
