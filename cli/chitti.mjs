#!/usr/bin/env node
// Launcher: registers tsx (resolved from this package, whatever the cwd) and runs the TypeScript CLI.
// Long-running services start OpenTelemetry first, with the ESM loader hook, so that http
// and pg are instrumented when they are first imported.
import { register as registerHook } from 'node:module';
import { register } from 'tsx/esm/api';

const SERVICES = new Set(['start', 'api', 'relay', 'projector', 'inference']);
const command = process.argv[2];
const traced = SERVICES.has(command) && !process.argv.includes('--help');

// Only the instrumented modules are wrapped: wrapping every module trips over `export *` re-exports.
const INSTRUMENTED = ['http', 'https', 'node:http', 'node:https', 'pg', 'kafkajs'];
if (traced) registerHook('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include: INSTRUMENTED } });
register();
if (traced) {
  const { startTelemetry } = await import('../infra/telemetry.ts');
  await startTelemetry({
    serviceName: `chitti-${command}`,
    // The relay makes a send span per event itself (infra/kafka/relay.ts); `start` may relay too.
    kafka: command !== 'relay' && command !== 'start',
  });
}
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
