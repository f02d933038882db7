import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const repo = new URL('../../', import.meta.url);

describe('Prometheus alert rules', () => {
  it('cover the five conditions, each with a runbook section that exists, loaded by Prometheus', async () => {
    const rules = parse(await readFile(new URL('infra/compose/alerts.yml', repo), 'utf8')) as {
      groups: { rules: { alert: string; expr: string; annotations: { runbook: string } }[] }[];
    };
    const all = rules.groups.flatMap((g) => g.rules);
    const metrics = all.map((r) => r.expr).join(' ');
    for (const metric of [
      'chitti_projection_lag_events',
      'chitti_relay_lag_events',
      'chitti_dead_letters_total',
      'chitti_inference_failures_total',
      'chitti_seal_age_seconds',
    ])
      expect(metrics).toContain(metric);
    const runbooks = await readFile(new URL('docs/runbooks.md', repo), 'utf8');
    const anchors = new Set([...runbooks.matchAll(/^## (\w+)$/gm)].map((m) => m[1]!.toLowerCase()));
    for (const rule of all) expect(anchors, rule.alert).toContain(rule.annotations.runbook.split('#')[1]);
    const prometheus = parse(await readFile(new URL('infra/compose/prometheus.yml', repo), 'utf8'));
    expect(prometheus.rule_files).toContain('/etc/prometheus/alerts.yml');
  });
});
