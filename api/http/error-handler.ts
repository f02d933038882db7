import type { NextFunction, Request, Response } from 'express';
import type { ApiLogger } from '../ports/logger.js';
import { contextOf } from './context.js';
import { HttpProblem } from './problem.js';
import { toProblem } from './problem-mapping.js';

export function sendProblem(req: Request, res: Response, problem: HttpProblem): void {
  const context = contextOf(res);
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res
    .status(problem.status)
    .type('application/problem+json')
    .send(JSON.stringify(problem.toJSON(req.originalUrl.split('?')[0] ?? req.path, context.correlationId)));
}

export const unknownRoute = (req: Request, _res: Response, next: NextFunction): void =>
  next(
    new HttpProblem({
      status: 404,
      slug: 'not-found',
      title: 'Not found',
      detail: `no route for ${req.method} ${req.path}`,
    }),
  );

/** The last middleware: every error becomes a problem+json response; stacks go to the log only. */
export function errorHandler(logger: ApiLogger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const problem = toProblem(error, { ifMatch: req.get('if-match') !== undefined });
    const correlationId = contextOf(res)?.correlationId;
    if (problem.status >= 500) {
      logger.error({ err: error, correlationId, path: req.path }, 'unhandled error');
    }
    if (res.headersSent) {
      // A streaming response already started: all that can be done is to end it.
      res.end();
      return;
    }
    sendProblem(req, res, problem);
  };
}
