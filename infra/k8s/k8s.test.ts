import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { type Manifest, renderKustomization, schemaProblems, unknownFieldProblems } from './validate.js';

interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  command?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface PodTemplate {
  metadata: { annotations?: Record<string, string> };
  spec: { containers: Container[] };
}

const byKind = (manifests: Manifest[], kind: string) => manifests.filter((m) => m.kind === kind);
const templateOf = (m: Manifest) => (m.spec as { template: PodTemplate }).template;
const portNumber = (container: Container, port: string | number | undefined) =>
  typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort;

/** Settings that are secrets: they must come from a Secret, never stand in a file. */
const SECRET = /PASSWORD|SECRET|JWT_KEYS$|PRIVATE_KEY$|DATABASE_URL|TOKEN/;

describe('Kubernetes manifests (infra/k8s, kustomize)', () => {
  for (const folder of ['base', 'overlays/production']) {
    it(`${folder}: renders with kustomize and every object is valid against the Kubernetes schemas`, async () => {
      const manifests = await renderKustomization(folder);
      const problems = (await Promise.all(manifests.map(schemaProblems))).flat();
      expect(problems).toEqual([]);
      expect(await unknownFieldProblems(manifests)).toEqual([]);
      expect(
        byKind(manifests, 'Deployment')
          .map((d) => d.metadata.name)
          .sort(),
      ).toEqual(['chitti-api', 'chitti-inference', 'chitti-projector', 'chitti-relay']);
      expect(byKind(manifests, 'Job').map((j) => j.metadata.name)).toEqual(['chitti-migrate']);
    });
  }

  it('the validator rejects what a cluster would: wrong types, missing required fields, unknown kinds', async () => {
    const [api] = byKind(await renderKustomization('base'), 'Deployment');
    const broken = structuredClone(api!) as Manifest & { spec: { template: PodTemplate; selector?: unknown } };
    broken.spec.template.spec.containers[0]!.ports![0]!.containerPort = '8080' as unknown as number;
    expect((await schemaProblems(broken)).join()).toMatch(/containerPort must be integer/);
    delete broken.spec.selector;
    expect((await schemaProblems(broken)).join()).toMatch(/selector/);
    expect(await schemaProblems({ apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } })).toHaveLength(
      1,
    );
  });

  it('the strict check rejects fields Kubernetes does not know, naming the object', async () => {
    const manifests = await renderKustomization('base');
    const api = structuredClone(byKind(manifests, 'Deployment').find((d) => d.metadata.name === 'chitti-api')!);
    (templateOf(api).spec.containers[0]!.livenessProbe as Record<string, unknown>).periodSecond = 10;
    const service = structuredClone(byKind(manifests, 'Service')[0]!) as Manifest & { spec: Record<string, unknown> };
    service.spec.typ = 'ClusterIP';
    // The schema validation lets both through; the strict check does not.
    expect(await schemaProblems(api)).toEqual([]);
    const problems = await unknownFieldProblems([api, service]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^Deployment\/chitti-api: .*periodSecond/);
    expect(problems[1]).toMatch(/^Service\/chitti-api: .*typ/);
  });

  it('every process has probes on its health endpoints, resources and a scraped metrics port', async () => {
    const manifests = await renderKustomization('overlays/production');
    const config = byKind(manifests, 'ConfigMap')[0]!.data as Record<string, string>;
    for (const deployment of byKind(manifests, 'Deployment')) {
      const template = templateOf(deployment);
      const [container] = template.spec.containers;
      const name = deployment.metadata.name;
      expect(container?.command?.slice(0, 2), name).toEqual(['chitti', name.replace('chitti-', '')]);
      const live = container!.livenessProbe?.httpGet;
      const ready = container!.readinessProbe?.httpGet;
      expect(live?.path, name).toBe('/health/live');
      if (name === 'chitti-api') {
        // The API's own port: /health/ready checks PostgreSQL, Elasticsearch and Redis.
        expect(ready?.path).toBe('/health/ready');
        expect(portNumber(container!, ready?.port)).toBe(Number(config.PORT));
      } else {
        // Workers: the metrics server (cli/wiring/metrics-server.ts), started once their work runs.
        expect(ready?.path, name).toBe('/health/live');
        expect(portNumber(container!, live?.port), name).toBe(Number(config.METRICS_PORT));
      }
      expect(container!.resources?.requests?.cpu, name).toBeDefined();
      expect(container!.resources?.requests?.memory, name).toBeDefined();
      expect(container!.resources?.limits?.memory, name).toBeDefined();
      expect(template.metadata.annotations?.['prometheus.io/scrape'], name).toBe('true');
      expect(Number(template.metadata.annotations?.['prometheus.io/port']), name).toBe(Number(config.METRICS_PORT));
      expect(container!.env?.find((e) => e.name === 'OTEL_SERVICE_NAME')?.value, name).toBe(name);
    }
  });

  it('inference scales with an HPA; the relay and the projector never run twice at once', async () => {
    const manifests = await renderKustomization('overlays/production');
    const [hpa] = byKind(manifests, 'HorizontalPodAutoscaler') as (Manifest & {
      spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number };
    })[];
    expect(hpa?.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'chitti-inference' });
    const config = byKind(manifests, 'ConfigMap')[0]!.data as Record<string, string>;
    // Members beyond the partition count of the inspections topic would sit idle.
    expect(hpa!.spec.maxReplicas).toBeLessThanOrEqual(Number(config.KAFKA_PARTITIONS));
    expect(hpa!.spec.minReplicas).toBeGreaterThanOrEqual(2);
    for (const name of ['chitti-relay', 'chitti-projector']) {
      const deployment = byKind(manifests, 'Deployment').find((d) => d.metadata.name === name)!;
      expect(deployment.spec).toMatchObject({ replicas: 1, strategy: { type: 'Recreate' } });
    }
  });

  it('configuration comes from the ConfigMap and Secret references: no secret value in the files', async () => {
    const manifests = await renderKustomization('overlays/production');
    expect(byKind(manifests, 'Secret')).toEqual([]);
    const config = byKind(manifests, 'ConfigMap')[0]!;
    expect(Object.keys(config.data as object).filter((k) => SECRET.test(k))).toEqual([]);
    const containers = [...byKind(manifests, 'Deployment'), ...byKind(manifests, 'Job')].flatMap(
      (m) => templateOf(m).spec.containers,
    );
    for (const container of containers) {
      expect(container.envFrom?.[0]?.configMapRef?.name, container.name).toBe(config.metadata.name);
      for (const variable of container.env ?? []) {
        if (!SECRET.test(variable.name)) continue;
        expect(variable.value, `${container.name} ${variable.name}`).toBeUndefined();
        expect(variable.valueFrom?.secretKeyRef?.name, `${container.name} ${variable.name}`).toBe('chitti-secrets');
      }
      expect(
        container.env?.some((v) => v.name === 'DATABASE_URL'),
        container.name,
      ).toBe(true);
    }
    // Every variable the ConfigMap sets is one Chitti reads (a misspelt name would be silently ignored).
    const known = await readFile(new URL('../config.ts', import.meta.url), 'utf8');
    for (const key of Object.keys(config.data as object)) expect(known, key).toMatch(new RegExp(`\\b${key}\\b`));
  });
});
