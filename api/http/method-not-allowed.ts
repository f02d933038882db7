import type { NextFunction, Request, Response } from 'express';
import { HttpProblem } from './problem.js';
import type { RouteSpec } from './route.js';

const patternOf = (path: string): RegExp =>
  new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z0-9_]+/g, '[^/]+')}/?$`);

/** A known path asked with a method it does not take: 405 with the Allow header, not 404. */
export function methodNotAllowed(routes: readonly RouteSpec[]) {
  const paths = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  for (const spec of routes) {
    const entry = paths.get(spec.path) ?? { pattern: patternOf(spec.path), methods: new Set<string>() };
    entry.methods.add(spec.method.toUpperCase());
    if (spec.method === 'get') entry.methods.add('HEAD');
    paths.set(spec.path, entry);
  }
  return (req: Request, _res: Response, next: NextFunction): void => {
    const allowed = new Set<string>();
    for (const { pattern, methods } of paths.values()) {
      if (pattern.test(req.path)) for (const m of methods) allowed.add(m);
    }
    if (allowed.size === 0 || allowed.has(req.method)) {
      next();
      return;
    }
    const allow = [...allowed].sort().join(', ');
    next(
      new HttpProblem({
        status: 405,
        slug: 'method-not-allowed',
        title: 'Method not allowed',
        detail: `${req.method} is not allowed here; use ${allow}`,
        headers: { Allow: allow },
      }),
    );
  };
}
