import { z } from 'zod';

/** Turns the payload of version `from` into the payload of version `from + 1`. */
export type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;

export interface EventDefinition<T extends string = string, S extends z.ZodType = z.ZodType> {
  readonly type: T;
  /** Current schema version: what is written today and what readers receive. */
  readonly version: number;
  readonly schema: S;
  /** upcasters[v] lifts version v to v + 1; every version below `version` needs one. */
  readonly upcasters: Readonly<Record<number, Upcaster>>;
  readonly description: string;
  /**
   * Top-level fields the log keeps but no topic ever carries (secret material such as an API key's
   * hash): left out of the published schema and of every relayed message.
   */
  readonly unpublished: readonly string[];
}

export function defineEvent<T extends string, S extends z.ZodType>(definition: {
  type: T;
  version?: number;
  schema: S;
  upcasters?: Record<number, Upcaster>;
  description: string;
  unpublished?: readonly string[];
}): EventDefinition<T, S> {
  const version = definition.version ?? 1;
  const upcasters = definition.upcasters ?? {};
  for (let v = 1; v < version; v++) {
    if (!upcasters[v]) throw new Error(`event ${definition.type}: missing upcaster from v${v}`);
  }
  const unpublished = Object.freeze([...(definition.unpublished ?? [])]);
  return Object.freeze({ ...definition, version, upcasters: Object.freeze(upcasters), unpublished });
}

/** The schema of `data` as topics publish it: the event's schema without its unpublished fields. */
export function publishedSchema(definition: EventDefinition): z.ZodType {
  if (definition.unpublished.length === 0) return definition.schema;
  if (!(definition.schema instanceof z.ZodObject)) {
    throw new Error(`event ${definition.type}: unpublished fields need an object schema`);
  }
  const shape = { ...(definition.schema as z.ZodObject).shape } as Record<string, z.ZodType>;
  for (const field of definition.unpublished) delete shape[field];
  return z.object(shape);
}

/** `data` as a topic carries it: without the event's unpublished fields. */
export function publishedData<D>(definition: EventDefinition, data: D): D {
  if (definition.unpublished.length === 0) return data;
  const copy = { ...(data as Record<string, unknown>) };
  for (const field of definition.unpublished) delete copy[field];
  return copy as D;
}
