import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const run = promisify(execFile);
const repo = new URL('../../', import.meta.url);

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  deploy?: { replicas?: number };
}

/** The file as docker-compose resolves it (anchors, merges, variables), with throwaway secrets. */
async function resolved(): Promise<{ services: Record<string, Service> }> {
  const { stdout } = await run('docker-compose', ['-f', 'docker-compose.yml', 'config'], {
    cwd: repo,
    env: {
      ...process.env,
      POSTGRES_PASSWORD: randomBytes(12).toString('hex'),
      JWT_KEYS: `k:${randomBytes(32).toString('base64')}`,
      GRAFANA_ADMIN_PASSWORD: randomBytes(12).toString('hex'),
    },
    timeout: 60_000,
  });
  return parse(stdout);
}

describe('docker-compose stack', () => {
  it('validates without an engine: config, required services, no default secrets, assets, Dockerfile', async () => {
    const { stdout } = await run('bash', ['infra/compose/validate.sh'], { timeout: 60_000 });
    expect(stdout).toContain('compose validation: ok');
    for (const service of ['api', 'relay', 'projector', 'inference', 'kafka', 'elasticsearch']) {
      expect(stdout).toContain(service);
    }
  });

  it('is modern: no obsolete version key, replicas instead of copied services, a health check on every service', async () => {
    const text = await readFile(new URL('docker-compose.yml', repo), 'utf8');
    expect(parse(text)).not.toHaveProperty('version');
    const { services } = await resolved();
    expect(Object.keys(services).filter((name) => /-\d+$/.test(name))).toEqual([]);
    expect(services.inference?.deploy?.replicas).toBeGreaterThanOrEqual(2);
    for (const [name, service] of Object.entries(services)) {
      // The one-shot migrate job is waited for by completion, not health.
      if (name === 'migrate') continue;
      expect(service.healthcheck?.test?.[0], name).toMatch(/^CMD(-SHELL)?$/);
    }
  });

  it('Prometheus scrapes every chitti process, each replica on the metrics port it serves', async () => {
    const { services } = await resolved();
    const chitti = Object.entries(services).filter(([name, s]) => s.command?.[0] === 'chitti' && name !== 'migrate');
    expect(chitti.map(([name]) => name).sort()).toEqual(['api', 'inference', 'projector', 'relay']);
    const prometheus = parse(await readFile(new URL('infra/compose/prometheus.yml', repo), 'utf8')) as {
      scrape_configs: { dns_sd_configs?: { names: string[]; port: number }[] }[];
    };
    const discovered = prometheus.scrape_configs.flatMap((job) => job.dns_sd_configs ?? []);
    for (const [name, service] of chitti) {
      const port = Number(service.environment?.METRICS_PORT);
      expect(
        discovered.some((sd) => sd.names.includes(name) && sd.port === port),
        `${name} scraped on ${port}`,
      ).toBe(true);
      // Each process its own service name in traces, not one shared name.
      expect(service.environment?.OTEL_SERVICE_NAME, name).toBe(`chitti-${name}`);
    }
  });
});
