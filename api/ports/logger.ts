/** The structured logger the API writes to (pino's Logger satisfies it). */
export interface ApiLogger {
  debug(fields: object, message?: string): void;
  /** Whether `level` lines are written: skip building fields nobody will see. */
  isLevelEnabled(level: string): boolean;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}
