/**
 * The import rules of docs/DESIGN.md ("Layout"), checked by `npm run lint:imports` in CI.
 * A port is a file under a `ports/` folder or named `ports.ts`: the small interfaces a layer owns
 * and `infra/` implements. Tests, test helpers (`testing/`), bench/, examples/ and the training tools
 * (`inference/training/`, scripts that wire the production detector like the CLI does) are not checked.
 */
const PORT = '(^|/)ports(/|[.]ts$)';
const ours = '^(schemas|domain|commands|projections|inference|api|infra|cli)/';
/**
 * Known exceptions, each a debt with its way out (docs/DESIGN.md, "Layout"):
 * - projections/ and inference/ use infra/traceparent.ts (span helpers over @opentelemetry/api,
 *   itself a no-op API without an SDK): way out, a tracing port the runner and detector are given;
 * - the search adapters (infra/elasticsearch, infra/postgres-search) plan their writes with
 *   projections/search/documents.ts: way out, the projector plans and the port takes the plan;
 * - the PostgreSQL search adapter runs its transactions with projections/transaction.ts, the one
 *   inTransaction (with broken-connection handling): way out, it moves to infra/ with the
 *   read-model storage behind a port.
 */
const EXCEPTIONS = {
  projections: ['^infra/traceparent[.]ts$'],
  inference: ['^infra/traceparent[.]ts$'],
  infra: ['^projections/search/documents[.]ts$', '^projections/transaction[.]ts$'],
};
const layer = (from, mayImport) => ({
  name: `${from}-imports`,
  comment: `${from}/ may import ${mayImport.join(', ') || 'nothing of ours'}${mayImport.length ? ' and ports' : ''} (docs/DESIGN.md)`,
  severity: 'error',
  from: { path: `^${from}/` },
  to: {
    path: ours,
    pathNot: [
      `^${from}/`,
      ...mayImport.map((l) => `^${l}/`),
      ...(from === 'schemas' || from === 'domain' ? [] : [PORT]),
      ...(EXCEPTIONS[from] ?? []),
    ],
  },
});

module.exports = {
  forbidden: [
    layer('schemas', []),
    layer('domain', ['schemas']),
    layer('commands', ['domain', 'schemas']),
    layer('projections', ['schemas']),
    layer('inference', ['schemas', 'commands', 'domain']),
    layer('api', ['schemas', 'domain', 'commands', 'projections', 'inference']),
    layer('infra', ['schemas']),
    {
      name: 'adapters-only-in-infra',
      comment: 'Drivers (pg, kafkajs, Elasticsearch, Redis) are reached through ports; only infra/ and cli/ (the composition root) import them',
      severity: 'error',
      from: { path: '^(schemas|domain|commands|projections|inference|api)/' },
      to: { path: '^node_modules/(pg|kafkajs|@elastic/elasticsearch|ioredis|redis|@eventstore/db-client)/' },
    },
    {
      name: 'no-cycles',
      comment: 'No module may import itself through others',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|test|bench|examples|testing)/|^inference/training/|[.]test[.]ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
