import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, gunzipSync } from 'node:zlib';
import type { Admin, Kafka } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBundledModel } from '../../cli/bootstrap.js';
import { createElasticsearchClient } from '../../infra/elasticsearch/client.js';
import { deleteTopics, testKafka, uniquePrefix } from '../kafka/fixtures.js';
import { sharedKafka } from '../kafka/kafka-server.js';
import { TEST_REDIS_URL } from '../redis/support.js';
import { deleteIndicesWithPrefix, TEST_ELASTICSEARCH_URL } from '../search/support/elasticsearch.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';
import { type ChittiProcess, freePort, isolatedEnv, REPO, runChitti, startChitti } from './support.js';

const UPLOADS = 50;
/** Inspections requested before one inference process is killed; the rest are requested after. */
const BEFORE_KILL = 25;

/** Polls until `probe` returns a value (not undefined); fails naming `what` and the last state after the deadline. */
async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  describeLast: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what} ${describeLast()} ${lastError ? String(lastError) : ''}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * A copy of a PNG with a random tEXt chunk after IHDR: the same pixels, but other bytes, so every
 * upload is its own blob and no prediction cache entry (Redis is shared, across runs too) serves it.
 */
function uniquePng(png: Buffer): Buffer {
  const ihdrEnd = 8 + 4 + 4 + 13 + 4;
  const body = Buffer.concat([Buffer.from('tEXt'), Buffer.from(`nonce\0${randomUUID()}`, 'latin1')]);
  const chunk = Buffer.alloc(4 + body.length + 4);
  chunk.writeUInt32BE(body.length - 4, 0);
  body.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(body), 4 + body.length);
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk, png.subarray(ihdrEnd)]);
}

/** Stops a process: SIGTERM, then SIGKILL if it has not exited within the grace period. */
async function stopProcess(p: ChittiProcess | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

interface CollectedSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly links: readonly { traceId: string; spanId: string }[];
}

/** OTLP/JSON ids are hex; protobuf-style JSON encoders send base64. */
const hexId = (id: unknown): string => {
  const text = typeof id === 'string' ? id : '';
  return /^[0-9a-f]*$/.test(text) ? text : Buffer.from(text, 'base64').toString('hex');
};

/** A minimal OTLP/HTTP (JSON) trace receiver: what every process exports, in memory. */
async function startOtlpReceiver(): Promise<{ server: Server; port: number; spans: CollectedSpan[] }> {
  const spans: CollectedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const payload = JSON.parse(body.toString('utf8')) as {
          resourceSpans?: {
            resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
            scopeSpans?: { spans?: Record<string, unknown>[] }[];
          }[];
        };
        for (const resourceSpans of payload.resourceSpans ?? []) {
          const service =
            resourceSpans.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const scope of resourceSpans.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) {
              spans.push({
                service,
                traceId: hexId(span.traceId),
                spanId: hexId(span.spanId),
                parentSpanId: hexId(span.parentSpanId),
                name: String(span.name),
                kind: Number(span.kind),
                links: ((span.links as { traceId: string; spanId: string }[] | undefined) ?? []).map((l) => ({
                  traceId: hexId(l.traceId),
                  spanId: hexId(l.spanId),
                })),
              });
            }
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, port: (server.address() as { port: number }).port, spans };
}

interface Metrics {
  recorded: number;
}

async function inferenceMetrics(port: number): Promise<Metrics> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const match = /^chitti_inference_requests_total\{status="recorded"\} (\d+)/m.exec(text);
  return { recorded: match ? Number(match[1]) : 0 };
}

describe('distributed mode: api, relay, projector and two inference processes on PostgreSQL, Kafka, Elasticsearch, Redis', () => {
  /** Topics, consumer group and indexes of this suite alone: other suites share the broker and the cluster. */
  const prefix = uniquePrefix();
  const topicPrefix = prefix;
  const indexPrefix = prefix;
  let db: TestDatabase;
  let pool: pg.Pool;
  let dataDir: string;
  let kafka: Kafka;
  let kafkaAdmin: Admin;
  const processes: ChittiProcess[] = [];
  let baseEnv: Record<string, string>;
  let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;

  const start = async (command: string, extra: Record<string, string> = {}) => {
    const metricsPort = await freePort();
    const process_ = startChitti([command], isolatedEnv({ ...baseEnv, METRICS_PORT: String(metricsPort), ...extra }));
    processes.push(process_);
    return { process: process_, metricsPort };
  };

  /** Ready when its metrics server answers: every process starts it after its own work is running. */
  const live = (p: ChittiProcess, metricsPort: number, what: string) =>
    eventually(
      `${what} to start`,
      async () => {
        if (p.child.exitCode !== null) throw new Error(`${what} exited:\n${p.output()}`);
        return (await fetch(`http://127.0.0.1:${metricsPort}/health/live`)).ok || undefined;
      },
      180_000,
      () => p.output().slice(-4000),
    );

  beforeAll(async () => {
    db = await createTestDatabase('chitti_dist');
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    dataDir = await mkdtemp(join(tmpdir(), 'chitti-dist-'));
    otlp = await startOtlpReceiver();
    // Generated per run: no secret is a constant.
    const jwtKeys = `k${prefix}:${randomBytes(32).toString('base64url')}`;
    const brokers = await sharedKafka();
    baseEnv = {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: topicPrefix,
      ELASTICSEARCH_URL: TEST_ELASTICSEARCH_URL,
      ELASTICSEARCH_INDEX_PREFIX: indexPrefix,
      REDIS_URL: TEST_REDIS_URL,
      JWT_KEYS: jwtKeys,
      CHITTI_DATA_DIR: dataDir,
      // The limits count in the shared Redis; this suite polls a lot from one principal and address.
      RATE_LIMIT_PER_MINUTE: '1000000',
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: '1000000',
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlp.port}`,
      // Export every fraction of a second rather than every 5 s: the test waits for the spans.
      OTEL_BSP_SCHEDULE_DELAY: '200',
    };
    kafka = testKafka(brokers, 'chitti-e2e');
    kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => stopProcess(p)));
    await pool?.end();
    await db?.drop();
    if (kafkaAdmin) {
      const topics = (await kafkaAdmin.listTopics().catch(() => [] as string[])).filter((t) =>
        t.startsWith(`${topicPrefix}.`),
      );
      await kafkaAdmin.deleteGroups([`${topicPrefix}-inference`]).catch(() => undefined);
      await kafkaAdmin.disconnect();
      if (topics.length > 0) await deleteTopics(kafka, topics);
    }
    const elasticsearch = createElasticsearchClient(TEST_ELASTICSEARCH_URL);
    await deleteIndicesWithPrefix(elasticsearch, indexPrefix).catch(() => undefined);
    await elasticsearch.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    await new Promise((resolve) => otlp?.server.close(resolve));
  }, 120_000);

  it('detects every inspection exactly once although one inference process is killed mid-stream; search and read models agree with the log', {
    timeout: 900_000,
  }, async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const api = await start('api', { PORT: String(port) });
    await eventually(
      'the API to be ready',
      async () => {
        if (api.process.child.exitCode !== null) throw new Error(`api exited:\n${api.process.output()}`);
        return (await fetch(`${url}/health/ready`)).status === 200 || undefined;
      },
      180_000,
      () => api.process.output().slice(-4000),
    );
    const relay = await start('relay');
    const projector = await start('projector');
    const inference = [await start('inference'), await start('inference')];
    await live(relay.process, relay.metricsPort, 'the relay');
    await live(projector.process, projector.metricsPort, 'the projector');
    for (const [i, member] of inference.entries()) await live(member.process, member.metricsPort, `inference ${i + 1}`);
    // Both members in the group before any request, so each holds partitions.
    const groupId = `${topicPrefix}-inference`;
    await eventually(
      'both inference processes in one stable consumer group',
      async () => {
        const { groups } = await kafkaAdmin.describeGroups([groupId]);
        const group = groups[0];
        return group?.state === 'Stable' && group.members.length === 2 ? true : undefined;
      },
      120_000,
    );

    // A distributed install's first admin: `chitti admin bootstrap`, as docs/deployment.md says.
    const keyFile = join(dataDir, 'e2e-admin-key');
    const bootstrap = await runChitti(['admin', 'bootstrap', '--key-file', keyFile], isolatedEnv(baseEnv));
    expect(bootstrap.code, bootstrap.output).toBe(0);
    const key = { token: (await readFile(keyFile, 'utf8')).trim() };
    const token = await eventually(
      'an access token for the admin key',
      async () => {
        const response = await fetch(`${url}/auth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ apiKey: key.token }),
        });
        return response.ok ? ((await response.json()) as { accessToken: string }).accessToken : undefined;
      },
      60_000,
    );
    const auth = { authorization: `Bearer ${token}` };

    // The bundled model, registered and deployed through the API with its shipped thresholds.
    const bundled = await findBundledModel('weld-defects');
    if (!bundled?.thresholds) throw new Error('no bundled weld-defects model with thresholds');
    const { confidence, iou, maxDetections, classConfidence } = bundled.thresholds;
    const registered = await fetch(
      `${url}/v1/models/weld-defects/versions?version=${bundled.version}&confidence=${confidence}&iou=${iou}&maxDetections=${maxDetections}`,
      {
        method: 'POST',
        headers: {
          ...auth,
          'content-type': 'application/octet-stream',
          'x-model-metrics': JSON.stringify(bundled.metrics),
          'x-model-class-confidence': JSON.stringify(classConfidence),
        },
        body: await readFile(bundled.file),
      },
    );
    expect(registered.status, await registered.clone().text()).toBe(201);
    const deployed = await fetch(`${url}/v1/models/weld-defects/deployments`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ version: bundled.version, percent: 100 }),
    });
    expect(deployed.status, await deployed.clone().text()).toBe(200);

    // 50 uploads of the shipped sample radiographs, each under a trace id of its own that the
    // upload and the inspection request share.
    const samplesDir = join(REPO, 'inference/samples');
    const samples = await Promise.all(
      (await readdir(samplesDir))
        .filter((f) => f.endsWith('.png'))
        .sort()
        .map((f) => readFile(join(samplesDir, f))),
    );
    const uploads: { fileId: string; traceId: string }[] = [];
    for (let i = 0; i < UPLOADS; i++) {
      const traceId = randomBytes(16).toString('hex');
      const response = await fetch(`${url}/v1/files?name=weld-${i}.png`, {
        method: 'POST',
        headers: {
          ...auth,
          'content-type': 'image/png',
          'idempotency-key': randomUUID(),
          traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
        },
        body: uniquePng(samples[i % samples.length]!),
      });
      expect(response.status, await response.clone().text()).toBe(201);
      uploads.push({ fileId: ((await response.json()) as { fileId: string }).fileId, traceId });
    }

    const requested: { inspectionId: string; traceId: string }[] = [];
    const request = async (upload: { fileId: string; traceId: string }) => {
      const response = await fetch(`${url}/v1/inspections`, {
        method: 'POST',
        headers: {
          ...auth,
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
          traceparent: `00-${upload.traceId}-${randomBytes(8).toString('hex')}-01`,
        },
        body: JSON.stringify({ fileId: upload.fileId }),
      });
      expect(response.status, await response.clone().text()).toBe(202);
      requested.push({
        inspectionId: ((await response.json()) as { inspectionId: string }).inspectionId,
        traceId: upload.traceId,
      });
    };

    const detectionsEvents = async () =>
      (
        await pool.query<{
          inspection_id: string;
          n: number;
          detections: number;
          traceparents: string[];
          last: string;
        }>(
          `SELECT data->>'inspectionId' AS inspection_id, count(*)::int AS n,
                  max(jsonb_array_length(data->'detections'))::int AS detections,
                  array_agg(metadata->>'traceparent') AS traceparents, max(global_position)::text AS last
             FROM events WHERE type = 'DetectionsRecorded' GROUP BY 1`,
        )
      ).rows;

    for (const upload of uploads.slice(0, BEFORE_KILL)) await request(upload);
    // Kill a member once it has recorded detections, with inspections still to come.
    const [victim, survivor] = inference as [(typeof inference)[0], (typeof inference)[0]];
    await eventually(
      'the first inference process to record detections',
      async () => ((await inferenceMetrics(victim.metricsPort)).recorded > 0 ? true : undefined),
      300_000,
      () => victim.process.output().slice(-4000),
    );
    const recordedBeforeKill = (await detectionsEvents()).length;
    victim.process.child.kill('SIGKILL');
    await new Promise<void>((resolve) => {
      if (victim.process.child.exitCode !== null || victim.process.child.signalCode !== null) resolve();
      else victim.process.child.once('exit', () => resolve());
    });
    expect(victim.process.child.signalCode).toBe('SIGKILL');
    expect(recordedBeforeKill).toBeGreaterThan(0);
    expect(recordedBeforeKill).toBeLessThan(UPLOADS);
    for (const upload of uploads.slice(BEFORE_KILL)) await request(upload);

    // Every inspection detected, by the survivor for what the dead member had not finished.
    const ids = new Set(requested.map((r) => r.inspectionId));
    let have = 0;
    let rows = await eventually(
      `DetectionsRecorded for all ${UPLOADS} inspections`,
      async () => {
        if (survivor.process.child.exitCode !== null)
          throw new Error(`the survivor exited:\n${survivor.process.output()}`);
        const found = await detectionsEvents();
        have = found.filter((r) => ids.has(r.inspection_id)).length;
        return have === UPLOADS ? found : undefined;
      },
      480_000,
      () => `(have ${have}) ${survivor.process.output().slice(-3000)}`,
    );
    expect((await inferenceMetrics(survivor.metricsPort)).recorded).toBeGreaterThan(0);
    // Exactly once: one DetectionsRecorded per inspection in the log, none failed.
    expect(rows.map((r) => r.inspection_id).sort()).toEqual([...ids].sort());
    expect(rows.filter((r) => r.n !== 1)).toEqual([]);
    const failed = await pool.query("SELECT count(*)::int AS n FROM events WHERE type = 'InspectionFailed'");
    expect(failed.rows[0].n).toBe(0);
    rows = await detectionsEvents();
    const inLog = new Map(rows.map((r) => [r.inspection_id, r.detections]));

    // One trace id from the upload request, through Kafka, to the detections event.
    for (const r of requested) {
      const row = rows.find((x) => x.inspection_id === r.inspectionId)!;
      expect(row.traceparents[0]?.split('-')[1]).toBe(r.traceId);
    }

    // Read models: each inspection detected, with the detections the log holds.
    for (const r of requested) {
      const inspection = await eventually(
        `the read model of inspection ${r.inspectionId}`,
        async () => {
          const response = await fetch(`${url}/v1/inspections/${r.inspectionId}`, { headers: auth });
          if (!response.ok) return undefined;
          const body = (await response.json()) as { status: string; detections: { role: string }[] };
          return body.status === 'detected' ? body : undefined;
        },
        120_000,
      );
      expect(inspection.detections.filter((d) => d.role === 'live').length).toBe(inLog.get(r.inspectionId));
    }

    // Search (Elasticsearch): once its checkpoint is past the last detections event and the indexes
    // are refreshed (a batch becomes searchable at the next refresh), the same counts.
    const lastDetections = Math.max(...rows.map((r) => Number(r.last)));
    await eventually(
      'the search checkpoint to pass the last detections event',
      async () => {
        const page = await fetch(`${url}/v1/detections?limit=1`, { headers: auth });
        if (!page.ok) return undefined;
        const body = (await page.json()) as { freshness: { indexedPosition: number } };
        return body.freshness.indexedPosition >= lastDetections ? true : undefined;
      },
      180_000,
    );
    const refreshed = await fetch(`${TEST_ELASTICSEARCH_URL}/${indexPrefix}-detections/_refresh`, { method: 'POST' });
    expect(refreshed.ok).toBe(true);
    const hits = await (async () => {
      const items: { inspectionId: string; role: string }[] = [];
      let cursor: string | null = null;
      do {
        const page = await fetch(
          `${url}/v1/detections?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          { headers: auth },
        );
        expect(page.status).toBe(200);
        const body = (await page.json()) as {
          items: { inspectionId: string; role: string }[];
          nextCursor: string | null;
        };
        items.push(...body.items);
        cursor = body.nextCursor;
      } while (cursor);
      return items;
    })();
    const searched = new Map<string, number>();
    for (const hit of hits.filter((h) => h.role === 'live')) {
      searched.set(hit.inspectionId, (searched.get(hit.inspectionId) ?? 0) + 1);
    }
    const expected = new Map([...inLog].filter(([, n]) => n > 0));
    expect(Object.fromEntries(searched)).toEqual(Object.fromEntries(expected));
    expect(expected.size).toBeGreaterThan(0);

    // Spans of every process in one trace: the API's request; the relay's send of that event to
    // Kafka (child of the API span the event names); the surviving inference process's handling
    // of the message (child of the send span, across the broker), the kafkajs instrumentation's
    // process span linked to the send, and the inference batch linked to the trace; the
    // projections' batches linked to it. (The killed process's unexported spans died with it.)
    const requestedAfterKill = requested.slice(BEFORE_KILL);
    const parentOf = new Map(
      (
        await pool.query<{ inspection_id: string; traceparent: string }>(
          `SELECT data->>'inspectionId' AS inspection_id, metadata->>'traceparent' AS traceparent
             FROM events WHERE type = 'InspectionRequested'`,
        )
      ).rows.map((r) => [r.inspection_id, r.traceparent.split('-')[2]]),
    );
    const PRODUCER = 4;
    const CONSUMER = 5;
    const topic = `${topicPrefix}.inspections`;
    const gaps = new Map<string, string[]>();
    await eventually(
      'spans of the api, relay, inference and projector processes in the trace of each inspection requested after the kill',
      async () => {
        gaps.clear();
        for (const { inspectionId, traceId } of requestedAfterKill) {
          const inTrace = otlp.spans.filter((span) => span.traceId === traceId);
          const apiSpanIds = new Set(inTrace.filter((span) => span.service === 'chitti-api').map((s) => s.spanId));
          const sent = inTrace.find(
            (span) =>
              span.service === 'chitti-relay' &&
              span.kind === PRODUCER &&
              span.name === `send ${topic}` &&
              span.parentSpanId === parentOf.get(inspectionId) &&
              apiSpanIds.has(span.parentSpanId),
          );
          const handled =
            sent &&
            inTrace.some(
              (span) =>
                span.service === 'chitti-inference' &&
                span.kind === CONSUMER &&
                span.name === `handle ${topic}` &&
                span.parentSpanId === sent.spanId,
            );
          const instrumented =
            sent &&
            otlp.spans.some(
              (span) =>
                span.service === 'chitti-inference' &&
                span.name === `process ${topic}` &&
                span.links.some((link) => link.spanId === sent.spanId),
            );
          const batched = otlp.spans.some(
            (span) =>
              span.service === 'chitti-inference' &&
              span.name === 'inference batch' &&
              span.links.some((link) => link.traceId === traceId),
          );
          const projected = otlp.spans.some(
            (span) =>
              span.service === 'chitti-projector' &&
              span.name === 'projection search' &&
              span.links.some((link) => link.traceId === traceId),
          );
          const missing = Object.entries({
            api: apiSpanIds.size > 0,
            relaySend: !!sent,
            inferenceHandle: !!handled,
            kafkajsProcess: !!instrumented,
            inferenceBatch: batched,
            projection: projected,
          })
            .filter(([, ok]) => !ok)
            .map(([what]) => what);
          if (missing.length > 0) gaps.set(inspectionId, missing);
        }
        return gaps.size === 0 ? true : undefined;
      },
      120_000,
      () => `(${otlp.spans.length} spans collected; missing: ${JSON.stringify([...gaps].slice(0, 3))})`,
    );

    // Every process serves its default metrics and its PostgreSQL pool; the relay its throughput,
    // the inference its consumer lag (0 once all is handled).
    const metricsOf = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const [what, member] of Object.entries({ api, relay, projector, survivor })) {
      const text = await metricsOf(member.metricsPort);
      for (const name of [
        'process_cpu_user_seconds_total',
        'process_resident_memory_bytes',
        'nodejs_eventloop_lag_p99_seconds',
        'nodejs_gc_duration_seconds',
        'chitti_db_pool_connections',
      ])
        expect(text, `${what} ${name}`).toContain(`# TYPE ${name} `);
    }
    const relayed = /^chitti_relay_published_events_total (\d+)/m.exec(await metricsOf(relay.metricsPort));
    expect(Number(relayed?.[1])).toBeGreaterThan(UPLOADS * 2);
    // The detections events land on the same topic and are handled (skipped) too: wait for them.
    await eventually(
      'the surviving inference process to report no consumer lag',
      async () => {
        const lags = [
          ...(await metricsOf(survivor.metricsPort)).matchAll(
            /^chitti_kafka_consumer_lag_messages\{[^}]*topic="([^"]+)"[^}]*\} (\d+)/gm,
          ),
        ];
        expect(lags.every((m) => m[1] === `${topicPrefix}.inspections`)).toBe(true);
        return lags.length > 0 && lags.every((m) => m[2] === '0') ? true : undefined;
      },
      60_000,
    );
  });
});
