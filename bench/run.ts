/**
 * `npm run bench [name ...]`: runs the benchmarks one after another (default: those that need only
 * PostgreSQL). Each prints its own ratios against a baseline measured in the same run.
 * relay and search need Kafka / Elasticsearch: `npm run infra:up` first; http starts `chitti start`.
 */
const benches: Record<string, () => Promise<{ main: (argv?: string[]) => Promise<unknown> }>> = {
  'event-store': () => import('./event-store.js'),
  commands: () => import('./commands.js'),
  projections: () => import('./projections.js'),
  inference: () => import('./inference.js'),
  'image-load': () => import('./image-load.js'),
  relay: () => import('./relay.js'),
  search: () => import('./search.js'),
  jwt: () => import('./jwt.js'),
  backup: () => import('./backup.js'),
  http: () => import('./http.js'),
  report: () => import('./report.js'),
};
const chosen = process.argv.slice(2);
const names = chosen.length > 0 ? chosen : ['event-store', 'commands', 'projections', 'inference', 'report'];
for (const name of names) {
  const load = benches[name];
  if (!load) {
    console.error(`unknown bench '${name}'; one of: ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n=== bench ${name}`);
  await (await load()).main([]);
}
