import type { z } from 'zod';

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
}

export function defineEvent<T extends string, S extends z.ZodType>(definition: {
  type: T;
  version?: number;
  schema: S;
  upcasters?: Record<number, Upcaster>;
  description: string;
}): EventDefinition<T, S> {
  const version = definition.version ?? 1;
  const upcasters = definition.upcasters ?? {};
  for (let v = 1; v < version; v++) {
    if (!upcasters[v]) throw new Error(`event ${definition.type}: missing upcaster from v${v}`);
  }
  return Object.freeze({ ...definition, version, upcasters: Object.freeze(upcasters) });
}
