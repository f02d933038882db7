import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Router } from 'express';
import { sendPageFile } from './console.js';

/** swagger-ui-dist ships the browsable reference as static files; served from the package, never a CDN. */
const DIST = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const ASSETS = ['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'favicon-32x32.png'];

// No inline script: the page loads its start-up code as a file, so a strict CSP (script-src 'self') allows it.
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Chitti API reference</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"><link rel="icon" href="/docs/assets/favicon-32x32.png">
</head><body><main id="ui"></main>
<script src="/docs/assets/swagger-ui-bundle.js"></script><script src="/docs/init.js"></script>
</body></html>
`;
const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui', deepLinking: true, persistAuthorization: false });\n`;

/** `/docs`: the API reference rendered from the same `/openapi.json` the API serves. */
export function mountApiDocs(router: Router): void {
  const files = new Map(ASSETS.map((name) => [name, readFileSync(join(DIST, name))]));
  router.get('/docs', (_req, res) => sendPageFile(res, 'html', PAGE));
  router.get('/docs/init.js', (_req, res) => sendPageFile(res, 'application/javascript', INIT));
  router.get('/docs/assets/:name', (req, res, next) => {
    const body = files.get(req.params.name);
    if (!body) return next();
    res.setHeader('Cache-Control', 'public, max-age=86400');
    sendPageFile(res, req.params.name.split('.').pop()!, body);
  });
}
