import { Agent, request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';

/** Request generators driven by `/openapi.json`: schema-shaped values mixed with hostile ones. */

type JsonSchema = Record<string, unknown>;

export interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required?: boolean;
  readonly schema: JsonSchema;
}

export interface Operation {
  readonly method: string;
  /** OpenAPI template, `/v1/files/{fileId}`. */
  readonly template: string;
  readonly parameters: readonly Parameter[];
  readonly requestBody?: { readonly content: Record<string, { schema: JsonSchema }> };
}

export interface FuzzRequest {
  readonly method: string;
  /** Path and query, percent-encoded as sent (possibly malformed on purpose). */
  readonly target: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer | undefined;
}

export function operationsOf(document: { paths: Record<string, Record<string, JsonSchema>> }): Operation[] {
  return Object.entries(document.paths).flatMap(([template, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      template,
      parameters: (op.parameters ?? []) as Parameter[],
      ...(op.requestBody ? { requestBody: op.requestBody as Operation['requestBody'] } : {}),
    })),
  );
}

/** Strings no column should hold, and strings that stress limits and parsers. */
const HOSTILE_TEXT = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfff',
  '\udc00\ud800',
  '',
  ' ',
  'x'.repeat(5000),
  '\u202e\u2066evil',
  '\ud83d\udd25',
  '../../etc/passwd',
  '0000-01-01T00:00:00Z',
  '-1',
  '1e309',
  '99999999999999999999',
  'NaN',
  '__proto__',
  'null',
];

/** Already percent-encoded query/path tokens: bad escapes, non-UTF-8 bytes, encoded NUL and surrogates. */
const HOSTILE_ENCODED = [
  '%ff',
  '%',
  '%E0%A4%A',
  '%c0%af',
  '%ED%A0%80',
  '%00',
  'a%00b',
  '%fe%ff%00%01',
  '%2e%2e',
  '0000-01-01',
  '-0',
  '1e999',
  '-99999999999999999999',
  '9007199254740993',
  '0x1f',
  '%5B%5D',
];

const HOSTILE_JSON: unknown[] = [
  null,
  true,
  -1,
  0,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 2,
  [],
  {},
  [[[[[]]]]],
  { __proto__: null, constructor: { prototype: 1 } },
  ...HOSTILE_TEXT,
];

/** Body bytes no JSON route should trip over. */
const HOSTILE_BODIES: Buffer[] = [
  Buffer.from(`${'['.repeat(60_000)}${']'.repeat(60_000)}`),
  Buffer.from(`${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`),
  Buffer.from([0xff, 0xfe, 0x7b, 0x22, 0x61, 0x22, 0x3a, 0xc3, 0x28, 0x7d]),
  Buffer.from('{"a":'),
  Buffer.from('1e999999'),
  Buffer.from('"\\ud800"'),
  Buffer.from('{"__proto__":{"polluted":true}}'),
  Buffer.alloc(0),
];

/** Percent-encodes a string's UTF-8 bytes, keeping only unreserved characters literal. */
export const percentEncode = (text: string): string =>
  [...Buffer.from(text, 'utf8')]
    .map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16)}`))
    .join('');

/** Lone surrogates cannot be UTF-8: they travel as CESU bytes, which the server must decode or refuse. */
const encodeAny = (text: string): string =>
  /[\ud800-\udfff]/.test(text)
    ? [...text]
        .map((ch) => {
          const code = ch.charCodeAt(0);
          if (ch.length === 1 && code >= 0xd800 && code <= 0xdfff) {
            return `%${(0xe0 | (code >> 12)).toString(16)}%${(0x80 | ((code >> 6) & 0x3f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`;
          }
          return percentEncode(ch);
        })
        .join('')
    : percentEncode(text);

function stringOf(schema: JsonSchema): fc.Arbitrary<string> {
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const maxLength = Math.min(typeof schema.maxLength === 'number' ? schema.maxLength : 40, 40);
  if (schema.format === 'date-time') {
    return fc
      .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
      .map((d) => d.toISOString());
  }
  if (schema.format === 'date') {
    return fc
      .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10));
  }
  if (schema.format === 'email') return fc.emailAddress();
  if (typeof schema.pattern === 'string') {
    try {
      const pattern = new RegExp(schema.pattern, 'u');
      return fc
        .stringMatching(pattern)
        .filter((s) => s.length >= minLength && s.length <= Math.max(maxLength, minLength));
    } catch {
      // A pattern fast-check cannot invert: plain strings instead.
    }
  }
  return fc.string({ minLength, maxLength: Math.max(minLength, maxLength), unit: 'grapheme' });
}

/** A value shaped by a JSON Schema (the subset zod emits), bounded in size. */
export function shapedBy(schema: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if (schema.const !== undefined) return fc.constant(schema.const);
  const alternatives = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (alternatives) return fc.oneof(...alternatives.map((s) => shapedBy(s, depth)));
  const type = Array.isArray(schema.type) ? (schema.type as string[])[0] : (schema.type as string | undefined);
  switch (type) {
    case 'string':
      return stringOf(schema);
    case 'integer':
      return fc.integer({
        min: typeof schema.minimum === 'number' ? Math.max(schema.minimum, -1e9) : -1000,
        max: typeof schema.maximum === 'number' ? Math.min(schema.maximum, 1e9) : 1000,
      });
    case 'number': {
      const min = typeof schema.minimum === 'number' ? schema.minimum : -1000;
      const max = typeof schema.maximum === 'number' ? schema.maximum : 1000;
      return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return depth > 3
        ? fc.constant([])
        : fc.array(shapedBy((schema.items ?? {}) as JsonSchema, depth + 1), {
            maxLength: Math.min(typeof schema.maxItems === 'number' ? schema.maxItems : 4, 4),
          });
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = (schema.required ?? []) as string[];
      if (Object.keys(properties).length === 0 && typeof schema.additionalProperties === 'object') {
        return fc.dictionary(
          stringOf((schema.propertyNames ?? {}) as JsonSchema),
          shapedBy(schema.additionalProperties as JsonSchema, depth + 1),
          { maxKeys: 4 },
        );
      }
      return fc.record(
        Object.fromEntries(Object.entries(properties).map(([name, s]) => [name, shapedBy(s, depth + 1)])),
        { requiredKeys: required.filter((r) => r in properties) },
      );
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** A JSON body: from the schema with one member made hostile, or hostile as a whole. */
function jsonBodyOf(schema: JsonSchema): fc.Arbitrary<Buffer> {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const names = Object.keys(properties);
  const valid = shapedBy(schema);
  const mutated =
    names.length === 0
      ? valid
      : fc
          .tuple(valid, fc.constantFrom(...names), fc.constantFrom(...HOSTILE_JSON))
          .map(([body, name, hostile]) =>
            typeof body === 'object' && body !== null ? { ...body, [name]: hostile } : body,
          );
  return fc.oneof(
    { weight: 3, arbitrary: valid.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
    { weight: 4, arbitrary: mutated.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
    { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_BODIES) },
    { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_JSON).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
  );
}

/** Raw token for a path or query slot: a known-good id, a schema value, or something hostile. */
function slotOf(schema: JsonSchema, known: readonly string[], hostile: boolean): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: shapedBy(schema).map((v) => encodeAny(String(v))) },
    ...(known.length > 0 ? [{ weight: 3, arbitrary: fc.constantFrom(...known.map(percentEncode)) }] : []),
    ...(hostile
      ? [
          { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_ENCODED) },
          { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_TEXT.map(encodeAny)) },
        ]
      : []),
  );
}

/** Header values, as HTTP can carry them (latin1 bytes at most); the first of each is valid. */
const HEADER_VALUES: Record<string, readonly string[]> = {
  'idempotency-key': ['k-1', '', 'x'.repeat(300), 'caf\u00e9', 'a b'],
  'if-match': ['"0"', '"1"', 'W/"3"', '"99999999999999999999"', '"-1"', '*', 'garbage', '"1", "2"'],
  'x-file-name': ['weld.png', '%00x.png', '%ff%fe', '..%2F..%2Fetc%2Fpasswd', 'r\u00e9sum\u00e9.png', 'x'.repeat(2000)],
  'x-model-metrics': ['{"mAP50":0.8}', '{"a":"x"}', '{', '[]', '{"\\u0000":1}', '{"a":1e999}', '{"\\ud800":1}', 'null'],
  'last-event-id': ['5', '0', '-1', '99999999999999999999', 'abc', ''],
};

/** Headers every request passes through the pipeline with (correlation, tracing, conditional, idempotency). */
const PIPELINE_HEADERS: Record<string, string>[] = [
  { 'x-correlation-id': 'x'.repeat(500) },
  { 'x-correlation-id': 'a b\u00ff' },
  { traceparent: `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01` },
  { traceparent: '00-zz-yy-xx' },
  { 'if-match': '"99999999999999999999"' },
  { 'idempotency-key': '\u00e9\u00e9' },
  { accept: 'text/html;q=x, */*;q=-1' },
  { 'content-type': 'application/json; charset="\u00ff"' },
];

type Encode = (body: Buffer) => [string | undefined, Buffer];
const PLAIN_ENCODINGS = fc.constantFrom<Encode>(
  (b) => [undefined, b],
  (b) => [undefined, b],
  (b) => ['gzip', gzipSync(b)],
);
const CONTENT_ENCODINGS = fc.constantFrom<Encode>(
  (b) => [undefined, b],
  (b) => [undefined, b],
  (b) => [undefined, b],
  (b) => ['gzip', gzipSync(b)],
  (b) => ['gzip', b],
  (b) => ['deflate', b],
  (b) => ['br', b],
  (b) => ['x-unknown', b],
  (b) => ['identity', b],
);

/**
 * One request to `op`: half well-formed (schema values and known ids, so handlers run), half with
 * hostile values anywhere (path, query, headers, body bytes, encodings).
 */
export function requestOf(
  op: Operation,
  known: Readonly<Record<string, readonly string[]>>,
): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(requestDrawn(op, known, false), requestDrawn(op, known, true));
}

function requestDrawn(
  op: Operation,
  known: Readonly<Record<string, readonly string[]>>,
  hostile: boolean,
): fc.Arbitrary<FuzzRequest> {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const headerParams = op.parameters.filter((p) => p.in === 'header');
  const path = fc
    .tuple(...pathParams.map((p) => slotOf(p.schema, known[p.name] ?? [], hostile)))
    .map((values) => pathParams.reduce((t, p, i) => t.replace(`{${p.name}}`, values[i]!), op.template));
  const query = fc
    .tuple(
      ...queryParams.map((p) =>
        fc.option(
          fc.oneof(
            { weight: 6, arbitrary: slotOf(p.schema, known[p.name] ?? [], hostile).map((v) => [v]) },
            // The same parameter twice arrives as an array.
            { weight: hostile ? 1 : 0, arbitrary: fc.tuple(slotOf(p.schema, [], true), slotOf(p.schema, [], true)) },
          ),
          { freq: 3 },
        ),
      ),
      hostile
        ? fc.option(fc.constantFrom('__proto__=x', 'constructor=1', 'unknown=%00', '%ff=1', '=&&='), { freq: 4 })
        : fc.constant(null),
    )
    .map(([...slots]) => {
      const extra = slots.pop() as string | null;
      const parts = (slots as (string[] | null)[]).flatMap((values, i) =>
        values === null ? [] : values.map((v) => `${percentEncode(queryParams[i]!.name)}=${v}`),
      );
      if (extra) parts.push(extra);
      return parts.length > 0 ? `?${parts.join('&')}` : '';
    });
  const headers = fc
    .tuple(
      ...headerParams.map((p) => {
        const values = HEADER_VALUES[p.name.toLowerCase()] ?? ['x'];
        const value = hostile ? fc.constantFrom(...values) : fc.constant(values[0]!);
        return fc.option(value, { freq: 2 }).map((v) => [p.name, v] as const);
      }),
    )
    .map((pairs) => Object.fromEntries(pairs.filter(([, v]) => v !== null)) as Record<string, string>);
  const withPipelineHeaders = hostile
    ? fc
        .tuple(headers, fc.option(fc.constantFrom(...PIPELINE_HEADERS), { freq: 2 }))
        .map(([h, extra]) => ({ ...h, ...(extra ?? {}) }))
    : headers;
  const content = op.requestBody?.content ?? {};
  const mediaTypes = Object.keys(content);
  const jsonSchema = content['application/json']?.schema;
  const body: fc.Arbitrary<[string | undefined, Buffer | undefined]> =
    mediaTypes.length === 0
      ? hostile
        ? fc
            .option(fc.constantFrom<[string, Buffer]>(['application/json', Buffer.from('{"a":1}')]), { freq: 5 })
            .map((b) => b ?? [undefined, undefined])
        : fc.constant<[undefined, undefined]>([undefined, undefined])
      : jsonSchema
        ? fc.tuple(
            hostile
              ? fc.constantFrom('application/json', 'application/json; charset=utf-16', 'text/plain', '')
              : fc.constant('application/json'),
            hostile
              ? jsonBodyOf(jsonSchema)
              : shapedBy(jsonSchema).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
          )
        : fc.tuple(
            hostile ? fc.constantFrom(...mediaTypes, 'text/plain', 'image/gif') : fc.constantFrom(...mediaTypes),
            fc.oneof(
              fc.uint8Array({ maxLength: 256 }).map((a) => Buffer.from(a)),
              fc.constantFrom(
                Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
                Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
                Buffer.from('II*\u0000\u0008\u0000\u0000\u0000', 'latin1'),
                Buffer.from([0x08, 0x07, 0x12, 0x04]),
                Buffer.alloc(0),
              ),
            ),
          );
  return fc
    .tuple(path, query, withPipelineHeaders, body, hostile ? CONTENT_ENCODINGS : PLAIN_ENCODINGS)
    .map(([p, q, h, [contentType, bytes], encode]) => {
      const all: Record<string, string> = { ...h };
      let payload = bytes;
      if (contentType) all['content-type'] = contentType;
      if (payload !== undefined) {
        const [encoding, encoded] = encode(payload);
        if (encoding) all['content-encoding'] = encoding;
        payload = encoded;
      }
      return { method: op.method, target: `${p}${q}`, headers: all, body: payload };
    });
}

export interface FuzzResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** Sends bytes exactly as given (fetch would re-encode the path); an event stream is cut after its headers. */
export function send(base: string, req: FuzzRequest, auth: Record<string, string>): Promise<FuzzResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.target,
        agent,
        headers: {
          ...req.headers,
          ...auth,
          ...(req.body !== undefined ? { 'content-length': String(req.body.length) } : {}),
        },
      },
      (incoming) => {
        const contentType = String(incoming.headers['content-type'] ?? '');
        if (contentType.startsWith('text/event-stream')) {
          incoming.destroy();
          outgoing.destroy();
          resolve({ status: incoming.statusCode ?? 0, contentType, body: '' });
          return;
        }
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () =>
          resolve({ status: incoming.statusCode ?? 0, contentType, body: Buffer.concat(chunks).toString('utf8') }),
        );
        incoming.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

export const closeAgent = (): void => agent.destroy();
