/**
 * Typed read-model tables: one definition per table, from which the rest is derived —
 *  - the table spec the generations create (`CREATE TABLE` columns, types, NOT NULL, key, indexes);
 *  - the row type projections build and the row reader (driver values to typed values: `bigint`
 *    text to numbers, `json_agg` timestamps to Dates);
 *  - through `view`, the API's JSON shape of a row: the mapper from row to JSON and the zod schema
 *    the OpenAPI document publishes, so a renamed or retyped column fails to compile instead of
 *    leaving an untyped hole in a generated client.
 */
import { z } from 'zod';

/** Column types the read models use (PostgreSQL names). */
export type ColumnType =
  | 'text'
  | 'bigint'
  | 'integer'
  | 'double precision'
  | 'boolean'
  | 'jsonb'
  | 'timestamptz'
  | 'date';

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable?: boolean;
}

/** A read-model table: its logical name is the view readers query as `read.<name>`. */
export interface TableSpec {
  readonly name: string;
  readonly columns: readonly ColumnSpec[];
  readonly primaryKey: readonly string[];
  /** Fragments after `CREATE INDEX ON <table>`, e.g. `(uploaded_position)` or `USING gin (tags)`. */
  readonly indexes?: readonly string[];
}

/** One column: its SQL type, what a row holds (T) and what the API sends (J). */
export class Column<T, J> {
  constructor(
    readonly type: ColumnType,
    readonly isNullable: boolean,
    /** The JSON (API) shape of the value. */
    readonly json: z.ZodType<J>,
    /** A value as the driver returns it (from the table, or from a `json_agg` of its rows) to a row value. */
    readonly read: (value: unknown) => T,
    /** A row value to its JSON value. */
    readonly toJson: (value: T) => J,
  ) {}

  nullable(): Column<T | null, J | null> {
    return new Column<T | null, J | null>(
      this.type,
      true,
      this.json.nullable(),
      (value) => (value == null ? null : this.read(value)),
      (value) => (value === null ? null : this.toJson(value)),
    );
  }

  describe(text: string): Column<T, J> {
    return new Column(this.type, this.isNullable, this.json.describe(text), this.read, this.toJson);
  }
}

const same = <T>(value: T): T => value;
const toNumber = (value: unknown): number => Number(value);
const toDate = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)));
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Column builders, named after their SQL types. */
export const col = {
  text: () => new Column<string, string>('text', false, z.string(), (v) => String(v), same),
  /** Text limited to a fixed set of values (a status, a role). */
  oneOf: <const E extends readonly [string, ...string[]]>(values: E) =>
    new Column<E[number], E[number]>('text', false, z.enum(values), (v) => String(v) as E[number], same),
  /** bigint: the driver returns text (64-bit); global positions and byte counts fit in a double. */
  bigint: () => new Column<number, number>('bigint', false, z.number().int(), toNumber, same),
  integer: () => new Column<number, number>('integer', false, z.number().int(), toNumber, same),
  double: () => new Column<number, number>('double precision', false, z.number(), toNumber, same),
  boolean: () => new Column<boolean, boolean>('boolean', false, z.boolean(), (v) => Boolean(v), same),
  /** jsonb with the shape `schema` describes (trusted on read: the projection wrote it). */
  jsonb: <S extends z.ZodType>(schema: S) =>
    new Column<z.output<S>, z.output<S>>(
      'jsonb',
      false,
      schema as z.ZodType<z.output<S>>,
      (v) => v as z.output<S>,
      same,
    ),
  /** timestamptz: a Date in rows, ISO 8601 (UTC) in JSON. */
  timestamptz: () => new Column<Date, string>('timestamptz', false, z.iso.datetime(), toDate, (d) => d.toISOString()),
  /** date: `YYYY-MM-DD` everywhere (the driver's local-midnight Date is turned back into its day). */
  date: () =>
    new Column<string, string>(
      'date',
      false,
      z.iso.date(),
      (v) =>
        v instanceof Date ? `${pad(v.getFullYear(), 4)}-${pad(v.getMonth() + 1)}-${pad(v.getDate())}` : String(v),
      same,
    ),
};

// biome-ignore lint/suspicious/noExplicitAny: any column, whatever it holds
export type AnyColumn = Column<any, any>;
export type Columns = Readonly<Record<string, AnyColumn>>;

/** The in-memory row of a table: what projections build and readers get back. */
export type RowOf<C extends Columns> = { -readonly [K in keyof C]: ValueOf<C[K]> };
// biome-ignore lint/suspicious/noExplicitAny: matching either side of a column
type ValueOf<X> = X extends Column<infer T, any> ? T : never;
// biome-ignore lint/suspicious/noExplicitAny: matching either side of a column
type JsonOf<X> = X extends Column<any, infer J> ? J : never;

export interface Table<C extends Columns> extends TableSpec {
  readonly columnsByName: C;
  readonly primaryKey: readonly (keyof C & string)[];
  /** A row as the driver returns it (`SELECT *`, or an element of `json_agg(t)`) to a typed row. */
  read(raw: Readonly<Record<string, unknown>>): RowOf<C>;
  /** Type-level only: `typeof table.Row`. */
  readonly Row: RowOf<C>;
}

export function defineTable<const C extends Columns>(
  name: string,
  columns: C,
  options: { primaryKey: readonly (keyof C & string)[]; indexes?: readonly string[] },
): Table<C> {
  const entries = Object.entries(columns);
  const specs: ColumnSpec[] = entries.map(([column, c]) => ({ name: column, type: c.type, nullable: c.isNullable }));
  return {
    name,
    columns: specs,
    primaryKey: options.primaryKey,
    ...(options.indexes ? { indexes: options.indexes } : {}),
    columnsByName: columns,
    read(raw) {
      const row: Record<string, unknown> = {};
      for (const [column, c] of entries) row[column] = c.read(raw[column]);
      return row as RowOf<C>;
    },
    Row: undefined as unknown as RowOf<C>,
  };
}

// --- views: the API's JSON of a row ---

/** A column sent as its JSON value. */
export class Ref<C extends Columns, K extends keyof C & string> {
  constructor(readonly column: K) {}
  /** Type-level only. */
  declare readonly _columns: C;
}

/** A value computed from the whole row. */
export class Computed<C extends Columns, T> {
  constructor(
    readonly schema: z.ZodType<T>,
    readonly get: (row: RowOf<C>) => T,
  ) {}
}

/** A nested object that is null when its `when` column is null (a failure, the timings of a run). */
export class Group<C extends Columns, S> {
  constructor(
    readonly when: keyof C & string,
    readonly shape: S,
  ) {}
  /** Type-level only. */
  declare readonly _columns: C;
}

/** A field the disclosure rules may remove for some readers: optional in the schema. */
export class Redactable<L> {
  constructor(readonly leaf: L) {}
}

// biome-ignore lint/suspicious/noExplicitAny: any leaf of any shape
type AnyLeaf = Ref<any, any> | Computed<any, any> | Group<any, any> | Redactable<any>;
export interface Shape {
  readonly [field: string]: AnyLeaf | Shape;
}

export type OutOf<C extends Columns, S> = {
  -readonly [K in keyof S]: LeafOut<C, S[K]>;
};
type LeafOut<C extends Columns, L> =
  L extends Ref<C, infer K>
    ? JsonOf<C[K]>
    : L extends Computed<C, infer T>
      ? T
      : L extends Group<C, infer G>
        ? OutOf<C, G> | null
        : L extends Redactable<infer I>
          ? LeafOut<C, I>
          : OutOf<C, L>;

/** What a view's shape is built with, bound to one table's columns. */
export interface ViewBuilder<C extends Columns> {
  /** The column, as its JSON value. */
  c<K extends keyof C & string>(column: K): Ref<C, K>;
  computed<T>(schema: z.ZodType<T>, get: (row: RowOf<C>) => T): Computed<C, T>;
  /** A nested object, null when `when` is null. */
  nullUnless<S extends Shape>(when: keyof C & string, shape: S): Group<C, S>;
  redactable<L extends AnyLeaf>(leaf: L): Redactable<L>;
}

export interface View<C extends Columns, S> {
  readonly table: Table<C>;
  /** The response schema: what `/openapi.json` publishes for this row (an object schema, so responses can extend it). */
  readonly schema: z.ZodObject & z.ZodType<OutOf<C, S>>;
  /** Row to JSON. */
  map(row: RowOf<C>): OutOf<C, S>;
  /** Driver row (or `json_agg` element) to JSON. */
  fromDb(raw: Readonly<Record<string, unknown>>): OutOf<C, S>;
}

type Mapper = (row: Record<string, unknown>) => unknown;

function compile(table: Table<Columns>, leaf: unknown): { schema: z.ZodType; map: Mapper } {
  if (leaf instanceof Ref) {
    const name = leaf.column as string;
    const column = table.columnsByName[name];
    if (!column) throw new Error(`view of ${table.name}: no column ${name}`);
    return { schema: column.json, map: (row) => column.toJson(row[name]) };
  }
  if (leaf instanceof Computed) return { schema: leaf.schema, map: leaf.get as Mapper };
  if (leaf instanceof Redactable) {
    const inner = compile(table, leaf.leaf);
    return { schema: inner.schema.optional(), map: inner.map };
  }
  if (leaf instanceof Group) {
    const inner = compile(table, leaf.shape);
    const when = leaf.when as string;
    return { schema: inner.schema.nullable(), map: (row) => (row[when] == null ? null : inner.map(row)) };
  }
  const fields = Object.entries(leaf as Record<string, unknown>).map(
    ([key, value]) => [key, compile(table, value)] as const,
  );
  return {
    schema: z.object(Object.fromEntries(fields.map(([key, f]) => [key, f.schema]))),
    map: (row) => {
      const out: Record<string, unknown> = {};
      for (const [key, f] of fields) out[key] = f.map(row);
      return out;
    },
  };
}

const builder: ViewBuilder<Columns> = {
  c: (column) => new Ref(column),
  computed: (schema, get) => new Computed(schema, get),
  nullUnless: (when, shape) => new Group(when, shape),
  redactable: (leaf) => new Redactable(leaf),
};

/**
 * The JSON of a row, declared once: leaves name columns (sent as the column's JSON), computed
 * values, groups that are null with a column, or redactable fields. The mapper and the schema
 * both come from this shape.
 */
export function view<C extends Columns, S extends Shape>(table: Table<C>, build: (v: ViewBuilder<C>) => S): View<C, S> {
  const { schema, map } = compile(table as unknown as Table<Columns>, build(builder as unknown as ViewBuilder<C>));
  return {
    table,
    schema: schema as z.ZodObject & z.ZodType<OutOf<C, S>>,
    map: map as (row: RowOf<C>) => OutOf<C, S>,
    fromDb: (raw) => map(table.read(raw) as Record<string, unknown>) as OutOf<C, S>,
  };
}
