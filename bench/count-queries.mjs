// Counts the PostgreSQL statements a process sends, by text (first 110 characters), and writes
// them, most frequent first, to $CHITTI_QUERY_COUNT_DIR/queries-<pid>.txt (default the OS temp
// directory) when the process exits. Load it into Chitti under a bench to count round trips:
//   BENCH_HTTP_ONLY=tags BENCH_HTTP_NODE_ARGS="--import $PWD/bench/count-queries.mjs" npm run bench http
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const counts = new Map();
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, values, callback) {
  const text = typeof config === 'string' ? config : (config?.text ?? config?.name ?? '?');
  const key = String(text).replace(/\s+/g, ' ').slice(0, 110);
  counts.set(key, (counts.get(key) ?? 0) + 1);
  return query.call(this, config, values, callback);
};
process.on('exit', () => {
  const lines = [...counts].sort((a, b) => b[1] - a[1]).map(([text, n]) => `${n}\t${text}`);
  const dir = process.env.CHITTI_QUERY_COUNT_DIR ?? tmpdir();
  writeFileSync(join(dir, `queries-${process.pid}.txt`), `${lines.join('\n')}\n`);
});
