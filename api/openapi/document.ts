import { z } from 'zod';
import { PROBLEM_BASE } from '../http/problem.js';
import type { RouteSpec } from '../http/route.js';

type JsonSchema = Record<string, unknown>;

/** JSON Schema (2020-12, what OpenAPI 3.1 uses) of the input side of a zod schema. */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output' = 'input'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const ProblemSchema: JsonSchema = {
  type: 'object',
  description: `RFC 9457 problem details; \`type\` is ${PROBLEM_BASE}<slug>`,
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    correlationId: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['pointer', 'message'],
        properties: { pointer: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
};

const COMMON_ERRORS: Record<number, string> = {
  400: 'Malformed request (bad JSON, invalid path or query parameters, bad headers)',
  401: 'No valid access token',
  403: 'The token’s roles do not grant the permission',
  429: 'Rate limited; see Retry-After',
  500: 'Internal error (no details are disclosed; quote the correlationId)',
  503: 'A dependency (the database) cannot be reached; retry after Retry-After seconds',
};

/** A body that is not JSON (images, PDFs, NDJSON, event streams): text or bytes of that media type. */
const bytesSchemaOf = (contentType: string): JsonSchema =>
  /^text\/|ndjson|json-seq/.test(contentType) ? { type: 'string' } : { type: 'string', format: 'binary' };

/** Every tag a route uses is listed, with what it groups (the /docs page's sections). */
const TAG_DESCRIPTIONS: Record<string, string> = {
  auth: 'API keys for tokens, token refresh and sign-out',
  files: 'Radiographs and images: upload, tags, content, deletion',
  inspections: 'Inspection requests, their detections and human reviews, detection search',
  reports: 'Inspection reports (PDF, HTML, CSV, JSON), annotated images, report verification',
  acceptance: 'Acceptance profiles and the verdicts recorded against them',
  models: 'The model registry: versions, deployments, traffic, shadows',
  users: 'Users, roles and API keys',
  audit: 'Audit trail, search, export, verification, seals and time travel',
  stats: 'Review and defect statistics, read-model status',
  events: 'The live event stream (server-sent events)',
};

const openApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

function parametersOf(schema: z.ZodType | undefined, location: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const json = jsonSchemaOf(schema);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || required.has(name),
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
    schema: property,
  }));
}

function operationOf(spec: RouteSpec): JsonSchema {
  const parameters = [
    ...parametersOf(spec.params, 'path'),
    ...parametersOf(spec.query, 'query'),
    ...(spec.headers ?? []).map((h) => ({
      name: h.name,
      in: 'header',
      required: h.required ?? false,
      description: h.description,
      schema: h.schema ? jsonSchemaOf(h.schema) : { type: 'string' },
    })),
  ];
  if (spec.method === 'post' && spec.idempotent !== false) {
    parameters.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: 'A retry with the same key returns the first response and appends nothing',
      schema: { type: 'string', maxLength: 200 },
    });
  }
  if (spec.conditional) {
    parameters.push({
      name: 'If-Match',
      in: 'header',
      required: false,
      description:
        'The strong ETag ("<stream version>") last seen; 412 when the resource has changed since, or for a weak ETag',
      schema: { type: 'string' },
    });
  }
  const responses: Record<string, JsonSchema> = {};
  for (const [status, response] of Object.entries(spec.responses)) {
    const problem = Number(status) >= 400;
    const contentType = response.contentType ?? (problem ? 'application/problem+json' : 'application/json');
    const schema = problem
      ? { $ref: '#/components/schemas/Problem' }
      : response.schema
        ? jsonSchemaOf(response.schema, 'output')
        : response.contentType
          ? bytesSchemaOf(response.contentType)
          : undefined;
    responses[status] = {
      description: response.description,
      ...(schema || problem ? { content: { [contentType]: { schema: schema ?? {} } } } : {}),
    };
  }
  for (const [status, description] of Object.entries(COMMON_ERRORS)) {
    if (responses[status]) continue;
    if (spec.permission === 'public' && (status === '401' || status === '403')) continue;
    responses[status] = {
      description,
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    };
  }
  let requestBody: JsonSchema | undefined;
  if (spec.body?.kind === 'json') {
    requestBody = { required: true, content: { 'application/json': { schema: jsonSchemaOf(spec.body.schema) } } };
  } else if (spec.body?.kind === 'binary') {
    requestBody = {
      required: true,
      description: `${spec.body.description} (at most ${spec.body.maxBytes} bytes)`,
      content: Object.fromEntries(
        spec.body.mediaTypes.map((t) => [t, { schema: { type: 'string', format: 'binary' } }]),
      ),
    };
  }
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: [spec.tag],
    ...(spec.permission === 'public' ? { security: [] } : { 'x-permission': spec.permission }),
    parameters,
    ...(requestBody ? { requestBody } : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document, generated from the same route specs and zod schemas that validate requests. */
export function buildOpenApiDocument(
  routes: readonly RouteSpec[],
  info: { title: string; version: string },
): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const spec of routes) {
    const path = openApiPath(spec.path);
    paths[path] ??= {};
    paths[path][spec.method] = operationOf(spec);
  }
  const tags = [...new Set(routes.map((r) => r.tag))].map((name) => {
    const description = TAG_DESCRIPTIONS[name];
    if (!description) throw new Error(`OpenAPI tag '${name}' has no description in TAG_DESCRIPTIONS`);
    return { name, description };
  });
  return {
    openapi: '3.1.0',
    info: {
      ...info,
      description:
        'Chitti: event-sourced AI visual inspection. Every error is an RFC 9457 problem with a correlationId. ' +
        'Get tokens with POST /auth/token (API key), send them as `Authorization: Bearer`.',
    },
    servers: [{ url: '/' }],
    tags,
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Problem: ProblemSchema },
    },
  };
}
