import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const run = promisify(execFile);
const repo = new URL('../../', import.meta.url);

/** Metric names a PromQL expression reads (histogram series map to their histogram). */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b((?:chitti|process|nodejs)_[a-z0-9_]+)/g)].map((m) =>
    m[1]!.replace(/_(bucket|sum|count)$/, ''),
  );
}

/** Every metric name the code registers: `name: 'chitti_...'` in its sources, and prom-client's defaults. */
async function registeredMetrics(): Promise<Set<string>> {
  const { stdout } = await run('git', ['grep', '-h', '-o', '-E', "name: '[a-z0-9_]+'", '--', '*.ts', ':!*.test.ts'], {
    cwd: repo,
  });
  const names = new Set(stdout.split('\n').map((line) => line.replace(/^name: '|'$/g, '')));
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults });
  for (const metric of await defaults.getMetricsAsJSON()) names.add(metric.name);
  return names;
}

describe('Grafana dashboard and alert rules', () => {
  it('only read metrics that some process registers', async () => {
    const dashboard = JSON.parse(
      await readFile(new URL('infra/compose/grafana/dashboards/chitti-overview.json', repo), 'utf8'),
    ) as { panels: { title: string; targets: { expr: string }[] }[] };
    const alerts = parse(await readFile(new URL('infra/compose/alerts.yml', repo), 'utf8')) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    const used = [
      ...dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricsIn(t.expr).map((m) => [p.title, m]))),
      ...alerts.groups.flatMap((g) => g.rules.flatMap((r) => metricsIn(r.expr).map((m) => [r.alert, m]))),
    ];
    const registered = await registeredMetrics();
    expect(used.filter(([, metric]) => !registered.has(metric!))).toEqual([]);
  });

  it('show Kafka consumer lag, relay throughput and lag, DB pool, cache hit rate, inference, seal age and process health', async () => {
    const dashboard = JSON.parse(
      await readFile(new URL('infra/compose/grafana/dashboards/chitti-overview.json', repo), 'utf8'),
    ) as { panels: { targets: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
    for (const needed of [
      'chitti_kafka_consumer_lag_messages',
      'chitti_relay_published_events_total',
      'chitti_relay_lag_events',
      'chitti_db_pool_connections',
      'chitti_inference_results_total{cached="true"}',
      'chitti_inference_requests_total',
      'chitti_inference_stage_seconds_bucket',
      'chitti_seal_age_seconds',
      'chitti_projection_lag_events',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_gc_duration_seconds',
    ])
      expect(exprs).toContain(needed);
  });
});
