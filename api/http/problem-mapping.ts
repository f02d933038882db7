import { ZodError } from 'zod';
import { InvalidCommandError } from '../../commands/errors.js';
import { ConcurrencyError, MetadataTooLargeError } from '../../commands/ports/event-store.js';
import { isDependencyUnavailable } from '../../commands/ports/unavailable.js';
import { type DomainError, isDomainError } from '../../domain/errors.js';
import { InvalidQueryError } from '../../projections/queries.js';
import { SearchUnavailableError } from '../../projections/search/ports.js';
import { InvalidEventPayloadError } from '../../schemas/events/index.js';
import { InvalidSearchQueryError } from '../../schemas/search-query.js';
import { badRequest, HttpProblem, type ValidationIssue, validationFailed } from './problem.js';

export const zodIssues = (error: ZodError, prefix: string): ValidationIssue[] =>
  error.issues.map((issue) => ({
    pointer: [prefix, ...issue.path.map(String)].filter(Boolean).join('/'),
    message: issue.message,
  }));

/** What a 503 tells clients to wait: about the backoff in which subscriptions and pools find the database again. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** Errors body-parser raises carry a `type`; their messages are safe to show. */
interface ParserError {
  readonly type: string;
  readonly status?: number;
  readonly expose?: boolean;
  readonly message: string;
}

const isParserError = (error: unknown): error is ParserError =>
  typeof error === 'object' &&
  error !== null &&
  typeof (error as { type?: unknown }).type === 'string' &&
  typeof (error as { status?: unknown }).status === 'number';

/**
 * Turns anything thrown while handling a request into the problem to answer with.
 * Unknown errors become an opaque 500: their messages and stacks stay in the log.
 */
export function toProblem(error: unknown, request: { ifMatch: boolean }): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (error instanceof ConcurrencyError) {
    return request.ifMatch
      ? new HttpProblem({
          status: 412,
          slug: 'precondition-failed',
          title: 'The resource changed',
          detail: `If-Match named version ${String(error.expected)}; the resource is at version ${String(error.actual)}`,
        })
      : new HttpProblem({
          status: 409,
          slug: 'concurrency-conflict',
          title: 'The resource was changed concurrently',
          detail: 'Another request changed this resource first; read it again and retry',
        });
  }
  if (error instanceof ZodError) return validationFailed(422, zodIssues(error, 'body'));
  if (error instanceof InvalidEventPayloadError) {
    return validationFailed(
      422,
      error.issues.map((i) => ({
        pointer: i.path ? `body/${i.path.replaceAll('.', '/')}` : 'body',
        message: i.message,
      })),
    );
  }
  if (error instanceof InvalidCommandError) {
    return validationFailed(
      422,
      error.issues.map((i) => ({
        pointer: i.path ? `body/${i.path.replaceAll('.', '/')}` : 'body',
        message: i.message,
      })),
    );
  }
  if (error instanceof InvalidQueryError) {
    return validationFailed(
      400,
      error.issues.map((i) => ({
        pointer: i.path ? `query/${i.path.replaceAll('.', '/')}` : 'query',
        message: i.message,
      })),
    );
  }
  if (error instanceof InvalidSearchQueryError) return badRequest(error.message);
  if (error instanceof SearchUnavailableError) {
    return new HttpProblem({
      status: 503,
      slug: 'search-unavailable',
      title: 'Search is unavailable',
      detail: 'the search index cannot be reached; retry shortly',
      headers: { 'Retry-After': '5' },
    });
  }
  if (error instanceof MetadataTooLargeError) {
    return new HttpProblem({ status: 413, slug: 'metadata-too-large', title: 'Request metadata too large' });
  }
  if (isDomainError(error)) return domainProblem(error);
  if (isParserError(error)) return parserProblem(error);
  const transport = transportProblem(error);
  if (transport) return transport;
  if (isDependencyUnavailable(error)) {
    // The database (or another dependency) is away: nothing about the request is wrong, a retry will work.
    return new HttpProblem({
      status: 503,
      slug: 'service-unavailable',
      title: 'Service temporarily unavailable',
      detail: 'a dependency (the database) cannot be reached; retry shortly',
      headers: { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS) },
    });
  }
  return new HttpProblem({ status: 500, slug: 'internal', title: 'Internal server error' });
}

function parserProblem(error: ParserError): HttpProblem {
  switch (error.type) {
    case 'entity.too.large':
      return new HttpProblem({
        status: 413,
        slug: 'payload-too-large',
        title: 'Payload too large',
        detail: 'The request body exceeds the size limit',
      });
    case 'entity.parse.failed':
      return new HttpProblem({
        status: 400,
        slug: 'malformed-json',
        title: 'Malformed JSON',
        detail: 'The body is not valid JSON',
      });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpProblem({
        status: 415,
        slug: 'unsupported-media-type',
        title: 'Unsupported media type',
        detail: error.message,
      });
    default: {
      const status = error.status ?? 400;
      return status >= 400 && status < 500
        ? new HttpProblem({
            status,
            slug: 'bad-request',
            title: 'Bad request',
            detail: error.expose ? error.message : undefined,
          })
        : new HttpProblem({ status: 500, slug: 'internal', title: 'Internal server error' });
    }
  }
}

/**
 * What express and body-parser raise about the bytes on the wire, untyped: a path segment that is
 * no valid percent-encoded UTF-8 (the router's URIError), and a body that does not decode in its
 * Content-Encoding (body-parser gives zlib's error a 400 but no `type`).
 */
function transportProblem(error: unknown): HttpProblem | undefined {
  if (error instanceof URIError) {
    return new HttpProblem({
      status: 400,
      slug: 'malformed-uri',
      title: 'Malformed URI',
      detail: 'a path segment is not valid percent-encoded UTF-8',
    });
  }
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  const status = typeof error === 'object' && error !== null ? (error as { status?: unknown }).status : undefined;
  // zlib names its failures Z_DATA_ERROR, Z_BUF_ERROR, ...; brotli ERR__ERROR_FORMAT_*, ...
  if (typeof code === 'string' && /^(Z_|ERR__)/.test(code) && status === 400) {
    return new HttpProblem({
      status: 400,
      slug: 'malformed-content-encoding',
      title: 'Body does not decode',
      detail: 'the body is not valid in the Content-Encoding it declares',
    });
  }
  return undefined;
}

/** Domain errors keep their stable `code` as the problem type's slug. */
function domainProblem(error: DomainError): HttpProblem {
  const extensions = { code: error.code, ...error.details };
  switch (error.kind) {
    case 'not-found':
      return new HttpProblem({ status: 404, slug: error.code, title: 'Not found', detail: error.message, extensions });
    case 'conflict':
      return new HttpProblem({
        status: 409,
        slug: error.code,
        title: 'Conflicts with what is already recorded',
        detail: error.message,
        extensions,
      });
    case 'rule-violation':
      return new HttpProblem({
        status: 422,
        slug: error.code,
        title: 'Domain rule violated',
        detail: error.message,
        extensions,
      });
  }
}
