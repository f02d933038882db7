import type { IHeaders, KafkaMessage, Message } from 'kafkajs';

/** Headers a dead-lettered message carries beside its original headers. */
export const DEAD_LETTER_HEADERS = {
  reason: 'chitti-dlq-reason',
  kind: 'chitti-dlq-kind',
  consumer: 'chitti-dlq-consumer',
  attempts: 'chitti-dlq-attempts',
  topic: 'chitti-dlq-topic',
  partition: 'chitti-dlq-partition',
  offset: 'chitti-dlq-offset',
  failedAt: 'chitti-dlq-failed-at',
} as const;

/** poison: could not be parsed, never retried; exhausted: the handler kept failing; rejected: the handler said it can never succeed. */
export type DeadLetterKind = 'poison' | 'exhausted' | 'rejected';

export interface DeadLetterCause {
  readonly kind: DeadLetterKind;
  readonly reason: string;
  readonly consumer: string;
  readonly attempts: number;
  readonly topic: string;
  readonly partition: number;
  readonly failedAt: Date;
}

const MAX_REASON_CHARS = 2_000;

/** The original key, value and headers, untouched, plus why and where it failed. */
export function deadLetterMessage(original: KafkaMessage, cause: DeadLetterCause): Message {
  const headers: IHeaders = { ...original.headers };
  headers[DEAD_LETTER_HEADERS.reason] = cause.reason.slice(0, MAX_REASON_CHARS);
  headers[DEAD_LETTER_HEADERS.kind] = cause.kind;
  headers[DEAD_LETTER_HEADERS.consumer] = cause.consumer;
  headers[DEAD_LETTER_HEADERS.attempts] = String(cause.attempts);
  headers[DEAD_LETTER_HEADERS.topic] = cause.topic;
  headers[DEAD_LETTER_HEADERS.partition] = String(cause.partition);
  headers[DEAD_LETTER_HEADERS.offset] = original.offset;
  headers[DEAD_LETTER_HEADERS.failedAt] = cause.failedAt.toISOString();
  return { key: original.key, value: original.value, headers };
}

export interface DeadLetterRecord {
  readonly kind: string;
  readonly reason: string;
  readonly consumer: string;
  readonly attempts: number;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly failedAt: string;
}

/** Reads the dead-letter headers back (operators' tools, tests); undefined when they are absent. */
export function readDeadLetterHeaders(headers: IHeaders | undefined): DeadLetterRecord | undefined {
  const text = (name: string): string | undefined => {
    const value = headers?.[name];
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? undefined : first.toString();
  };
  const reason = text(DEAD_LETTER_HEADERS.reason);
  if (reason === undefined) return undefined;
  return {
    kind: text(DEAD_LETTER_HEADERS.kind) ?? '',
    reason,
    consumer: text(DEAD_LETTER_HEADERS.consumer) ?? '',
    attempts: Number(text(DEAD_LETTER_HEADERS.attempts) ?? 0),
    topic: text(DEAD_LETTER_HEADERS.topic) ?? '',
    partition: Number(text(DEAD_LETTER_HEADERS.partition) ?? -1),
    offset: text(DEAD_LETTER_HEADERS.offset) ?? '',
    failedAt: text(DEAD_LETTER_HEADERS.failedAt) ?? '',
  };
}
