import { readFileSync } from 'node:fs';
import type { Response, Router } from 'express';
import { rolePermissions } from '../rbac.js';

/**
 * What a page served by the API may load: its own scripts, styles, images (blob: for the images
 * the console fetches with the user's token) and API calls, nothing inline, nothing from elsewhere,
 * no framing. The JSON routes keep the stricter default-src 'none' of `securityHeaders`.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Sends a page or one of its files under `PAGE_CSP` (helmet's header is replaced, not added to). */
export function sendPageFile(res: Response, type: string, body: Buffer | string): void {
  res.setHeader('Content-Security-Policy', PAGE_CSP);
  res.type(type).send(body);
}

const file = (name: string) => readFileSync(new URL(`../console/${name}`, import.meta.url));

/**
 * `/console`: the read-only auditor console, a static page plus one script and one stylesheet
 * that call the JSON API with the signed-in user's token, so it can do exactly what their roles
 * allow. `roles.json` tells the page which actions to offer (the API still decides).
 */
export function mountConsole(router: Router): void {
  const page = file('index.html');
  const script = file('console.js');
  const style = file('console.css');
  const roles = JSON.stringify(rolePermissions);
  router.get('/console', (_req, res) => sendPageFile(res, 'html', page));
  router.get('/console/console.js', (_req, res) => sendPageFile(res, 'application/javascript', script));
  router.get('/console/console.css', (_req, res) => sendPageFile(res, 'text/css', style));
  router.get('/console/roles.json', (_req, res) => sendPageFile(res, 'application/json', roles));
}
