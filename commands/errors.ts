/** The command's input failed its schema: nothing was loaded or written (400). */
export class InvalidCommandError extends Error {
  readonly code = 'invalid-command';
  constructor(
    readonly command: string,
    readonly issues: readonly { readonly path: string; readonly message: string }[],
  ) {
    super(`${command} is invalid: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
    this.name = 'InvalidCommandError';
  }
}
