import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { AccessAction } from '../ports/commands.js';
import type { Permission } from '../rbac.js';
import type { RequestContext } from './context.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * A body already serialised as JSON (a cached read), written as it is: the same bytes and
 * Content-Type `res.json` would give, without serialising again.
 */
export class JsonText {
  constructor(readonly text: string) {}
  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}

/** What a handler answers; written by the framework so idempotent retries can replay it. */
export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export type BodySpec =
  | { readonly kind: 'json'; readonly schema: z.ZodType }
  /** Raw bytes (images, ONNX): the handler validates the content itself. */
  | {
      readonly kind: 'binary';
      readonly mediaTypes: readonly string[];
      readonly maxBytes: number;
      readonly description: string;
    };

export interface ResponseSpec {
  readonly description: string;
  readonly schema?: z.ZodType;
  /** Defaults to application/json (application/problem+json for status >= 400). */
  readonly contentType?: string;
}

export interface HeaderSpec {
  readonly name: string;
  readonly description: string;
  readonly required?: boolean;
  /** Checked with the path and query (400), before a sensitive read is recorded. */
  readonly schema?: z.ZodType;
}

/** A sensitive read: recorded as AccessRecorded (allowed or denied) and guarded by an extra permission. */
export interface SensitiveRead {
  readonly action: AccessAction;
  readonly resource: string;
  readonly permission: Permission;
  /** Further permissions the read needs (the category of the stream it replays). */
  readonly also?: readonly Permission[];
}

export interface HandlerInput<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly context: RequestContext;
  /** The principal, present on every route that demands a permission. */
  readonly actor: string;
  readonly idempotencyKey: string | undefined;
  readonly ifMatch: number | undefined;
  readonly req: Request;
  readonly res: Response;
}

export interface RouteSpec<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
> {
  readonly method: HttpMethod;
  /** Express pattern (`/v1/files/:fileId`); documented as `/v1/files/{fileId}`. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  /** 'public' routes need no token. */
  readonly permission: Permission | 'public';
  readonly params?: P;
  readonly query?: Q;
  readonly body?: BodySpec & ({ kind: 'json'; schema: B } | { kind: 'binary' });
  readonly headers?: readonly HeaderSpec[];
  /** POSTs honour Idempotency-Key unless false (token endpoints: their responses are secrets, never stored). */
  readonly idempotent?: boolean;
  /** Mutations on an aggregate accept `If-Match: "<stream version>"`. */
  readonly conditional?: boolean;
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  readonly sensitive?: (input: { params: z.output<P>; query: z.output<Q> }) => SensitiveRead | undefined;
  /** Returns the reply, or undefined when it streamed the response itself (SSE, NDJSON, bytes). */
  readonly handle: (input: HandlerInput<z.output<P>, z.output<Q>, z.output<B>>) => Promise<Reply | undefined>;
}

/** Identity function that keeps the schema types flowing into the handler. */
export function route<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
>(spec: RouteSpec<P, Q, B>): RouteSpec {
  return spec as unknown as RouteSpec;
}
