import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { Reader } from '../api/disclosure.js';
import { UsageError } from './exit-codes.js';

/** node:util parseArgs with usage errors that name the bad option. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

export function intOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer`);
  return n;
}

/** The operator running a CLI command is the actor recorded for it. */
/**
 * How the API's disclosure rules see a CLI user: someone on the host with the database's
 * credentials can read every category already, so they read as an admin; secret fields still
 * need the explicit raw export.
 */
export const hostReader = (raw: boolean): Reader => ({ roles: ['admin'], raw });

export const cliActor = (): string => `cli:${process.env.CHITTI_ACTOR ?? process.env.USER ?? 'operator'}`;
