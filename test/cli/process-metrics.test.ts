import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_METRICS_PORTS, metricsPortOf } from '../../cli/wiring/metrics-server.js';
import { loadConfig } from '../../infra/config.js';
import { registerProcessMetrics } from '../../infra/process-metrics.js';
import { TEST_SERVER_URL } from '../support/pg.js';

const sample = (text: string, line: RegExp) => {
  const match = line.exec(text);
  return match ? Number(match[1]) : undefined;
};

describe('process metrics of every chitti process', () => {
  const pool = new pg.Pool({ connectionString: TEST_SERVER_URL, max: 1 });
  afterAll(() => pool.end());

  it('serve CPU, memory, event loop lag, GC and the PostgreSQL pool, in use and waiting', async () => {
    const registry = new Registry();
    registerProcessMetrics(registry, pool);
    const held = await pool.connect();
    // The pool has one connection: a second caller waits for it.
    const waiting = pool.query('SELECT 1');
    try {
      const text = await registry.metrics();
      for (const name of [
        'process_cpu_user_seconds_total',
        'process_resident_memory_bytes',
        'nodejs_heap_size_used_bytes',
        'nodejs_eventloop_lag_p99_seconds',
        'nodejs_gc_duration_seconds',
      ])
        expect(text).toContain(`# TYPE ${name} `);
      expect(sample(text, /^chitti_db_pool_connections\{state="in_use"\} (\d+)$/m)).toBe(1);
      expect(sample(text, /^chitti_db_pool_connections\{state="waiting"\} (\d+)$/m)).toBe(1);
    } finally {
      held.release();
      await waiting;
    }
    const after = await registry.metrics();
    expect(sample(after, /^chitti_db_pool_connections\{state="waiting"\} (\d+)$/m)).toBe(0);
    expect(sample(after, /^chitti_db_pool_connections\{state="idle"\} (\d+)$/m)).toBe(1);
  });

  it('each kind of process has its own metrics port unless METRICS_PORT says otherwise', () => {
    const config = loadConfig({});
    const ports = ['api', 'relay', 'projector', 'inference'].map((name) => metricsPortOf({ name, config }));
    expect(new Set(ports).size).toBe(4);
    expect(ports[0]).toBe(DEFAULT_METRICS_PORTS.start);
    expect(metricsPortOf({ name: 'relay', config: loadConfig({ METRICS_PORT: '0' }) })).toBe(0);
    expect(metricsPortOf({ name: 'inference', config: loadConfig({ METRICS_PORT: '9500' }) })).toBe(9500);
  });
});
