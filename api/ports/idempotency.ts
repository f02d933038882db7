export interface StoredResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

export type IdempotencyBegin =
  | { readonly kind: 'started' }
  | { readonly kind: 'replay'; readonly response: StoredResponse }
  | { readonly kind: 'in-progress' }
  /** The key was used before with a different request. */
  | { readonly kind: 'mismatch' };

/** Maps (principal, Idempotency-Key) to the first response, so a retried POST returns it unchanged. */
export interface IdempotencyStore {
  begin(scope: string, key: string, requestHash: string): Promise<IdempotencyBegin>;
  complete(scope: string, key: string, response: StoredResponse): Promise<void>;
  /** Forgets a started key whose request failed unexpectedly, so a retry runs again. */
  abandon(scope: string, key: string): Promise<void>;
}
