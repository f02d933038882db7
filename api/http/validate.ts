import type { z } from 'zod';
import { type ValidationIssue, validationFailed } from './problem.js';
import { zodIssues } from './problem-mapping.js';

/** A UTF-16 surrogate without its partner: no character at all, and PostgreSQL refuses it in text and jsonb. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const MAX_ISSUES = 20;

const flawOf = (text: string): string | undefined =>
  text.includes('\0')
    ? 'contains NUL (U+0000), which cannot be stored'
    : LONE_SURROGATE.test(text)
      ? 'contains an unpaired UTF-16 surrogate (U+D800-U+DFFF), which is not a character'
      : undefined;

/** Shown in a pointer without repeating the flaw. */
const printable = (key: string): string =>
  key.replaceAll('\0', '\uFFFD').replace(new RegExp(LONE_SURROGATE.source, 'g'), '\uFFFD');

/**
 * Every string and member name in a request value that no text column can hold. Walks without
 * recursion: a JSON body within the size limit can nest a hundred thousand levels deep.
 */
export function unstorableText(value: unknown, where: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const pending: { value: unknown; pointer: string }[] = [{ value, pointer: where }];
  while (pending.length > 0 && issues.length < MAX_ISSUES) {
    const { value: current, pointer } = pending.pop()!;
    if (typeof current === 'string') {
      const flaw = flawOf(current);
      if (flaw) issues.push({ pointer, message: flaw });
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) pending.push({ value: current[i], pointer: `${pointer}/${i}` });
    } else if (typeof current === 'object' && current !== null) {
      for (const [key, member] of Object.entries(current).reverse()) {
        const memberPointer = `${pointer}/${printable(key)}`;
        const flaw = flawOf(key);
        if (flaw) issues.push({ pointer: memberPointer, message: `member name ${flaw}` });
        else pending.push({ value: member, pointer: memberPointer });
      }
    }
  }
  return issues;
}

/**
 * The one validation step of every request input (path, query, JSON body, structured headers):
 * text that cannot be stored is 422 wherever it appears, so no NUL or lone surrogate reaches
 * PostgreSQL; then the schema, whose failures answer `status`.
 */
export function validateInput<S extends z.ZodType>(
  schema: S | undefined,
  value: unknown,
  where: string,
  status: 400 | 422,
): unknown {
  const unstorable = unstorableText(value, where);
  if (unstorable.length > 0) throw validationFailed(422, unstorable);
  if (!schema) return value;
  const result = schema.safeParse(value);
  if (!result.success) throw validationFailed(status, zodIssues(result.error, where));
  return result.data;
}
