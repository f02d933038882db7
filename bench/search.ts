/**
 * Elasticsearch search projection: events/s through ElasticsearchSearch.indexBatch (decode,
 * lookup of file facts by mget, planning, one _bulk, checkpoint write) beside a raw `_bulk` of the
 * very same documents into indexes with the same mappings, measured in the same run.
 *
 *   node --import tsx bench/search.ts [inspections=1500]
 *
 * BENCH_ELASTICSEARCH_URL (default http://127.0.0.1:9200). The events are built in memory, so the
 * figure is the index side alone (no event-store reads). Everything the bench creates is deleted.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';
import { createElasticsearchClient } from '../infra/elasticsearch/client.js';
import { ElasticsearchSearch } from '../infra/elasticsearch/elasticsearch-search.js';
import { createGeneration, indicesOf } from '../infra/elasticsearch/indices.js';
import { decodeEvents, planSearchBatch } from '../projections/search/documents.js';
import type { RecordedEvent } from '../schemas/events/index.js';
import { runIfMain } from './support.js';

const URL = process.env.BENCH_ELASTICSEARCH_URL ?? 'http://127.0.0.1:9200';
const BATCH = 500;
const CLASSES = ['crack', 'porosity', 'inclusion', 'slag', 'undercut'];

export interface SearchBenchResult {
  readonly events: number;
  readonly documents: number;
  readonly projectionEventsPerSec: number;
  readonly rawEventsPerSec: number;
  readonly ratio: number;
}

function workload(inspections: number): RecordedEvent[] {
  const events: RecordedEvent[] = [];
  const start = Date.parse('2026-11-01T00:00:00Z');
  const push = (streamId: string, type: string, data: unknown, actor: string) => {
    const position = events.length + 1;
    events.push({
      globalPosition: position,
      streamId,
      streamVersion: 1,
      eventId: randomUUID(),
      type,
      schemaVersion: type === 'InspectionRequested' ? 2 : 1,
      data,
      metadata: { actor },
      recordedAt: new Date(start + position * 10),
      hash: '0'.repeat(64),
    });
  };
  const thresholds = { confidence: 0.25, iou: 0.7, maxDetections: 300 };
  const model = { name: 'weld-defects', version: '1.0.0', sha256: 'c'.repeat(64) };
  for (let i = 0; i < inspections; i++) {
    const fileId = `f${i}`;
    const inspectionId = `i${i}`;
    push(
      `file-${fileId}`,
      'FileUploaded',
      {
        fileId,
        sha256: 'a'.repeat(64),
        sizeBytes: 2048,
        mediaType: 'image/png',
        width: 640,
        height: 480,
        bitDepth: 8,
        channels: 1,
        originalName: `weld_seam-${i}.png`,
        uploadedBy: 'olga',
        tags: ['pipeline', `batch-${i % 20}`],
      },
      'olga',
    );
    push(
      `inspection-${inspectionId}`,
      'InspectionRequested',
      {
        inspectionId,
        fileId,
        fileSha256: null,
        model,
        selection: { reason: 'explicit', roll: null, weights: { '1.0.0': 100 } },
        shadows: [],
        thresholds,
        requestedBy: 'olga',
      },
      'olga',
    );
    push(
      `inspection-${inspectionId}`,
      'DetectionsRecorded',
      {
        inspectionId,
        role: 'live',
        model,
        detections: Array.from({ length: 4 }, (_, d) => ({
          detectionId: `d${d}`,
          classId: (i + d) % CLASSES.length,
          className: CLASSES[(i + d) % CLASSES.length],
          score: 0.3 + ((i * 7 + d * 13) % 70) / 100,
          box: { x1: d, y1: d, x2: d + 20, y2: d + 20 },
        })),
        image: { width: 640, height: 480 },
        window: null,
        thresholds,
        timings: { queueMs: 1, preprocessMs: 2, inferenceMs: 9, postprocessMs: 1 },
        batchSize: 1,
        cached: false,
        tiling: null,
      },
      'system:inference',
    );
    if (i % 5 === 0) {
      push(`file-${fileId}`, 'FileTagged', { fileId, added: ['recheck'], removed: [], taggedBy: 'olga' }, 'olga');
    }
  }
  return events;
}

interface Timings {
  readonly projectionMs: number;
  readonly rawMs: number;
  readonly documents: number;
}

/** One round: the projection into fresh aliases, then a raw _bulk of the same documents. */
async function measure(client: Client, prefix: string, events: readonly RecordedEvent[]): Promise<Timings> {
  // Projection: the adapter exactly as the projector drives it.
  const search = new ElasticsearchSearch(client, { prefix, headPosition: async () => events.length });
  await search.prepare();
  let started = performance.now();
  for (let i = 0; i < events.length; i += BATCH) {
    await search.indexBatch(events.slice(i, i + BATCH), { after: i === 0 ? 0 : events[i - 1]!.globalPosition });
  }
  await search.refresh();
  const projectionMs = performance.now() - started;

  // Raw: the same documents the projection wrote (planned up front, untimed), plain _bulk, same
  // number of requests.
  const plan = planSearchBatch(decodeEvents(events), { files: new Map(), inspections: new Map() });
  const raw = indicesOf(`${prefix}-raw`, await createGeneration(client, `${prefix}-raw`));
  const operations: object[] = [];
  for (const doc of plan.detections) operations.push({ index: { _index: raw.detections, _id: doc.id } }, doc);
  for (const doc of plan.audit) operations.push({ index: { _index: raw.audit, _id: doc.eventId } }, doc);
  const perRequest = Math.ceil(operations.length / Math.ceil(events.length / BATCH) / 2) * 2;
  started = performance.now();
  for (let i = 0; i < operations.length; i += perRequest) {
    const response = await client.bulk({ operations: operations.slice(i, i + perRequest) as never });
    if (response.errors) throw new Error('raw bulk reported item errors');
  }
  await client.indices.refresh({ index: [raw.detections, raw.audit] });
  const rawMs = performance.now() - started;
  return { projectionMs, rawMs, documents: plan.detections.length + plan.audit.length };
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<SearchBenchResult> {
  const inspections = Math.min(Number(argv[0] ?? 1500), 20_000);
  const client = createElasticsearchClient(URL, { requestTimeoutMs: 60_000 });
  const prefix = `chitti-bench-${randomBytes(4).toString('hex')}`;
  const events = workload(inspections);
  try {
    // Warm-up round (a tenth of the size, untimed) so neither side pays for a cold node.
    await measure(client, `${prefix}-warm`, workload(Math.max(50, Math.floor(inspections / 10))));
    const { projectionMs, rawMs, documents } = await measure(client, prefix, events);
    const result: SearchBenchResult = {
      events: events.length,
      documents,
      projectionEventsPerSec: Math.round(events.length / (projectionMs / 1000)),
      rawEventsPerSec: Math.round(events.length / (rawMs / 1000)),
      ratio: Number((rawMs / projectionMs).toFixed(2)),
    };
    console.log(
      `search projection: ${result.events} events (${documents} documents) in ${projectionMs.toFixed(0)} ms = ${result.projectionEventsPerSec} events/s`,
    );
    console.log(
      `raw _bulk of the same documents: ${rawMs.toFixed(0)} ms = ${result.rawEventsPerSec} events/s; projection/raw = ${result.ratio}`,
    );
    return result;
  } finally {
    await client.indices.delete({ index: `${prefix}*`, ignore_unavailable: true, allow_no_indices: true });
    await client.close();
  }
}

runIfMain(import.meta.url, main);
