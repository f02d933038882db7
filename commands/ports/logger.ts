/**
 * The structured logger every layer writes to (pino's Logger satisfies it): projections, the
 * inference processor, the process wiring. One interface, so callers choose the logger once. The
 * API's logger (api/ports/logger.ts) adds what the request pipeline needs on top.
 */
export interface Logger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}
