import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** The compiled sibling of a worker module: `.ts` when running from sources (tsx, vitest), else `.js`. */
export function workerModuleUrl(base: string, name: string): URL {
  return new URL(base.endsWith('.ts') ? `./${name}.ts` : `./${name}.js`, base);
}

/**
 * tsx's ESM API entry, for workers started from TypeScript sources: on Node 20 a worker does not
 * inherit the parent's loader hooks, and `execArgv: ['--import', 'tsx']` does not apply to the
 * worker's entry module, so the worker registers tsx itself before importing the .ts module.
 */
function resolveTsxEsmApi(): string {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve('tsx/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    exports: Record<string, { import?: { default?: string } }>;
  };
  const entry = manifest.exports['./esm/api']?.import?.default;
  if (!entry) throw new Error('tsx/esm/api not found: cannot start a TypeScript worker');
  return pathToFileURL(join(dirname(manifestPath), entry)).href;
}

/** Starts a worker thread on `url` (a .js module, or a .ts one through tsx). */
export function startWorker(url: URL, workerData: unknown): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData });
  const tsxApi = resolveTsxEsmApi();
  const bootstrap = `import(${JSON.stringify(tsxApi)})
    .then((api) => (api.register ?? api.default.register)())
    .then(() => import(${JSON.stringify(url.href)}));`;
  return new Worker(bootstrap, { eval: true, workerData });
}
