import type { z } from 'zod';
import { InvalidCommandError } from './errors.js';

/** Validates a command's input with its schema; bad input is a typed error before any I/O. */
export function parseInput<S extends z.ZodType>(command: string, schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new InvalidCommandError(
    command,
    result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  );
}
