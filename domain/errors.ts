/**
 * Typed domain errors. `code` is stable (API problem types and clients key on it); the message is
 * for humans. Deciders throw these and nothing else, so callers can map them without parsing text.
 */
export abstract class DomainError extends Error {
  abstract readonly kind: 'rule-violation' | 'not-found' | 'conflict';
  constructor(
    readonly code: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The command is well-formed but breaks a business rule in the aggregate's current state (422). */
export class DomainRuleViolation extends DomainError {
  readonly kind = 'rule-violation' as const;
}

/** The command contradicts something already recorded and cannot be applied as a repeat (409). */
export class DomainConflict extends DomainError {
  readonly kind = 'conflict' as const;
}

/** The aggregate (or an entity inside it) the command addresses does not exist (404). */
export class NotFound extends DomainError {
  readonly kind = 'not-found' as const;
  constructor(
    readonly entity: string,
    readonly id: string,
    message = `${entity} '${id}' not found`,
  ) {
    super(`${entity}.not-found`, message, { entity, id });
  }
}

export const isDomainError = (error: unknown): error is DomainError => error instanceof DomainError;
