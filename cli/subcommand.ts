/** One `chitti` subcommand: what `chitti --help` lists, and what runs. */
export interface Subcommand {
  readonly summary: string;
  readonly usage: string;
  run(args: string[]): Promise<number>;
}
