/** One dependency checked by `/health/ready`: resolves when usable, throws when not. */
export interface HealthCheck {
  readonly name: string;
  check(): Promise<void>;
}
