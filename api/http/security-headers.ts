import cors from 'cors';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';

/** One year, the preload list's minimum. */
const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * Headers on every response, errors included. The API answers JSON and bytes: their CSP allows
 * nothing to load and no one to frame them. The two pages it serves (`/console`, `/docs`) replace
 * it with `PAGE_CSP` (console.ts): their own files only, still nothing inline. HSTS only where the request arrived over TLS,
 * directly or through a trusted proxy's `X-Forwarded-Proto: https` (`req.secure`): sent over plain
 * HTTP it would be meaningless, and a development server on http://localhost must not pin HTTPS.
 *
 * helmet decides the headers; they depend on nothing in the request, so they are taken from it
 * once, here, and set by one middleware (helmet's chain of twelve cost more than most handlers),
 * with `extra` fixed headers of the caller's.
 */
export function securityHeaders(extra: readonly [string, string][] = []): RequestHandler[] {
  const fixed = [...helmetHeaders(), ...extra];
  return [
    (req: Request, res: Response, next: NextFunction) => {
      for (const [name, value] of fixed) res.setHeader(name, value);
      if (req.secure) res.setHeader('Strict-Transport-Security', HSTS);
      next();
    },
  ];
}

/** What helmet, configured for this API, sets on a response (it removes nothing express still sends). */
function helmetHeaders(): [string, string][] {
  const set: [string, string][] = [];
  const middleware = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
      },
    },
    strictTransportSecurity: false,
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
  });
  const res = {
    setHeader: (name: string, value: unknown) => set.push([name, String(value)]),
    removeHeader: () => undefined,
  };
  let done = false;
  middleware({} as Request, res as unknown as Response, (error?: unknown) => {
    if (error) throw error;
    done = true;
  });
  if (!done) throw new Error('helmet did not finish synchronously');
  return set;
}

/** What browsers may send and read cross-origin: the headers the API takes and answers with. */
const ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Content-Encoding',
  'Idempotency-Key',
  'If-Match',
  'Last-Event-ID',
  'X-Correlation-Id',
  'X-File-Name',
  'X-Model-Metrics',
  'traceparent',
];
const EXPOSED_HEADERS = [
  'ETag',
  'Location',
  'Retry-After',
  'Idempotent-Replayed',
  'X-Correlation-Id',
  'X-Trace-Id',
  'RateLimit-Policy',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
];

/**
 * CORS for exactly the listed origins; with none (the default) no CORS header is ever sent, so
 * browsers keep the same-origin policy. Requests from other origins pass through untouched (their
 * preflight gets the router's plain `Allow` answer, which no browser accepts as CORS), and no
 * credentials mode: the API takes bearer tokens, not cookies.
 */
export function corsAllowList(origins: readonly string[]): RequestHandler[] {
  if (origins.length === 0) return [];
  const allowed = new Set(origins);
  const policy = cors({
    origin: true,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  });
  return [
    (req: Request, res: Response, next: NextFunction) => {
      res.vary('Origin');
      const origin = req.get('origin');
      if (origin !== undefined && allowed.has(origin)) policy(req, res, next);
      else next();
    },
  ];
}
