/** RFC 9457 problem details: the one error shape every response uses. */
export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly instance?: string;
  readonly correlationId?: string;
  /** Validation issues: where and what. */
  readonly errors?: readonly ValidationIssue[];
  readonly [extension: string]: unknown;
}

export interface ValidationIssue {
  /** JSON-pointer-like location: `body/weights/v2`, `query/limit`, `header/idempotency-key`. */
  readonly pointer: string;
  readonly message: string;
}

export const PROBLEM_BASE = 'https://chitti.dev/problems/';
export const problemType = (slug: string): string => `${PROBLEM_BASE}${slug}`;

/** A failure the API answers with a problem response; `headers` are added to it (Retry-After, WWW-Authenticate). */
export class HttpProblem extends Error {
  readonly status: number;
  readonly slug: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly errors: readonly ValidationIssue[] | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly extensions: Readonly<Record<string, unknown>>;

  constructor(init: {
    status: number;
    slug: string;
    title: string;
    detail?: string;
    errors?: readonly ValidationIssue[];
    headers?: Record<string, string>;
    extensions?: Record<string, unknown>;
  }) {
    super(init.detail ?? init.title);
    this.name = 'HttpProblem';
    this.status = init.status;
    this.slug = init.slug;
    this.title = init.title;
    this.detail = init.detail;
    this.errors = init.errors;
    this.headers = init.headers ?? {};
    this.extensions = init.extensions ?? {};
  }

  toJSON(instance: string, correlationId: string): ProblemDetails {
    return {
      ...this.extensions,
      type: problemType(this.slug),
      title: this.title,
      status: this.status,
      ...(this.detail !== undefined ? { detail: this.detail } : {}),
      instance,
      correlationId,
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

export const badRequest = (detail: string, errors?: readonly ValidationIssue[]) =>
  new HttpProblem({ status: 400, slug: 'bad-request', title: 'Bad request', detail, ...(errors ? { errors } : {}) });

export const validationFailed = (status: 400 | 422, errors: readonly ValidationIssue[]) =>
  new HttpProblem({
    status,
    slug: 'validation-failed',
    title: 'The request is not valid',
    detail: errors.map((e) => `${e.pointer}: ${e.message}`).join('; '),
    errors,
  });

export const notFound = (detail: string) =>
  new HttpProblem({ status: 404, slug: 'not-found', title: 'Not found', detail });

export const unauthenticated = (detail: string, error: 'invalid_request' | 'invalid_token' = 'invalid_token') =>
  new HttpProblem({
    status: 401,
    slug: 'unauthenticated',
    title: 'Authentication required',
    detail,
    headers: { 'WWW-Authenticate': `Bearer realm="chitti", error="${error}"` },
  });

export const forbidden = (detail: string) =>
  new HttpProblem({ status: 403, slug: 'forbidden', title: 'Not allowed', detail });

export const unsupportedMediaType = (detail: string) =>
  new HttpProblem({ status: 415, slug: 'unsupported-media-type', title: 'Unsupported media type', detail });

export const payloadTooLarge = (detail: string) =>
  new HttpProblem({ status: 413, slug: 'payload-too-large', title: 'Payload too large', detail });

export const conflict = (slug: string, title: string, detail: string) =>
  new HttpProblem({ status: 409, slug, title, detail });

export const unprocessable = (slug: string, title: string, detail: string) =>
  new HttpProblem({ status: 422, slug, title, detail });
