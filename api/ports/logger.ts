/** The structured logger the API writes to (pino's Logger satisfies it). */
export interface ApiLogger {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}
