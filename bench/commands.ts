/**
 * Command handler benchmark: the latency of one single-event command (TagFile) through
 * `handleCommand` (decide on the cached stream state, append, fold the recorded event), beside a
 * raw INSERT of one event row through pg, in alternating rounds of the same run; then the same
 * command on a stream with a long history with and without the state cache (a full read and
 * re-fold per command, as before the cache), and 4 concurrent writers.
 *
 *   node --import tsx bench/commands.ts
 *
 * BENCH_DATABASE_URL names the server (default postgres://postgres@127.0.0.1:5432/postgres);
 * BENCH_COMMANDS sets the commands per round (default 400).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import pg from 'pg';
import { type CommandDeps, fileStreamId, StreamStateCache, tagFile, uploadFile } from '../commands/index.js';
import { fileUpload } from '../commands/testing/file-upload.js';
import { PostgresEventStore } from '../infra/postgres/event-store.js';
import { migrate } from '../infra/postgres/migrate.js';
import { createBenchDatabase, runIfMain } from './support.js';

const PER_ROUND = Number(process.env.BENCH_COMMANDS ?? 400);
const ROUNDS = 4;
const LONG_HISTORY = 87;
const WRITERS = 4;
const ctx = { actor: 'bench', correlationId: 'bench-correlation' };

export interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly perSec: number;
}

export interface CommandBenchResult {
  readonly command: Latency;
  readonly raw: Latency;
  readonly longCached: Latency;
  readonly longUncached: Latency;
  readonly writers4: { readonly command: number; readonly raw: number };
  readonly loadAverage: readonly number[];
}

function summarise(samples: number[], elapsedMs: number): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99), perSec: samples.length / (elapsedMs / 1000) };
}

/** Runs `op` n times in a row and records each one's wall time (ms). */
async function sequential(n: number, op: (i: number) => Promise<unknown>, into: number[]): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await op(i);
    into.push(performance.now() - t);
  }
  return performance.now() - started;
}

const upload = (fileId: string) => ({ ...fileUpload(fileId), tags: [] });

export async function main(): Promise<CommandBenchResult> {
  const database = await createBenchDatabase('chitti_bench_cmd');
  const pool = new pg.Pool({ connectionString: database.url, max: WRITERS + 2 });
  const store = new PostgresEventStore(pool);
  try {
    await migrate(pool);
    await pool.query('CREATE TABLE raw_events (LIKE events INCLUDING ALL)');
    let position = 0;
    const raw = (streamId: string, version: number) =>
      pool.query(
        `INSERT INTO raw_events (global_position, stream_id, stream_version, event_id, type, schema_version, data,
                                 metadata, recorded_at, hash, prev_hash)
         VALUES ($1, $2, $3, $4, 'FileTagged', 1, $5, $6, now(), $7, NULL)`,
        [
          ++position,
          streamId,
          version,
          randomUUID(),
          JSON.stringify({ fileId: streamId, added: [`t${version}`], removed: [], taggedBy: 'bench' }),
          JSON.stringify(ctx),
          randomBytes(32).toString('hex'),
        ],
      );
    const deps: CommandDeps = { store };
    const files = Array.from({ length: 20 }, (_, i) => `bench-${i}`);
    for (const fileId of files) await uploadFile(deps, upload(fileId), ctx);
    // Each command toggles one tag, so each records exactly one event (a file carries at most 50 tags).
    const tagged = new Map<string, boolean>();
    const command = (d: CommandDeps, fileId: string) => {
      const has = tagged.get(fileId) ?? false;
      tagged.set(fileId, !has);
      return tagFile(d, { fileId, add: has ? [] : ['hot'], remove: has ? ['hot'] : [] }, ctx);
    };
    // Warm-up: connections, prepared statements, JIT.
    for (let i = 0; i < 100; i++) {
      await command(deps, files[i % files.length]!);
      await raw(`raw-warm-${i % 20}`, Math.floor(i / 20) + 1);
    }

    const commandSamples: number[] = [];
    const rawSamples: number[] = [];
    let commandMs = 0;
    let rawMs = 0;
    const rawVersions = new Map<string, number>();
    for (let round = 0; round < ROUNDS; round++) {
      rawMs += await sequential(
        PER_ROUND,
        (i) => {
          const streamId = `raw-${i % 20}`;
          const version = (rawVersions.get(streamId) ?? 0) + 1;
          rawVersions.set(streamId, version);
          return raw(streamId, version);
        },
        rawSamples,
      );
      commandMs += await sequential(PER_ROUND, (i) => command(deps, files[i % files.length]!), commandSamples);
    }

    // A stream with a long history: with the cache a command folds one event; without, all of them.
    const long = 'bench-long';
    await uploadFile(deps, upload(long), ctx);
    for (let i = 0; i < LONG_HISTORY; i++) await command(deps, long);
    const uncachedDeps: CommandDeps = { store, states: new StreamStateCache(0) };
    const cachedSamples: number[] = [];
    const uncachedSamples: number[] = [];
    let cachedMs = 0;
    let uncachedMs = 0;
    for (let round = 0; round < ROUNDS; round++) {
      uncachedMs += await sequential(PER_ROUND / 4, () => command(uncachedDeps, long), uncachedSamples);
      // The uncached commands moved the stream: the first cached command pays one conflict and a read.
      cachedMs += await sequential(PER_ROUND / 4, () => command(deps, long), cachedSamples);
    }

    // 4 concurrent writers for a fixed number of operations each, commands vs raw.
    const perWriter = PER_ROUND / 2;
    const concurrent = async (op: (w: number, i: number) => Promise<unknown>) => {
      const started = performance.now();
      await Promise.all(
        Array.from({ length: WRITERS }, async (_, w) => {
          for (let i = 0; i < perWriter; i++) await op(w, i);
        }),
      );
      return (WRITERS * perWriter) / ((performance.now() - started) / 1000);
    };
    const rawW = await concurrent((w, i) => raw(`raw4-${w}-${i % 5}`, Math.floor(i / 5) + 1));
    const cmdW = await concurrent((w, i) => command(deps, files[(w * 5 + (i % 5)) % files.length]!));

    const result: CommandBenchResult = {
      command: summarise(commandSamples, commandMs),
      raw: summarise(rawSamples, rawMs),
      longCached: summarise(cachedSamples, cachedMs),
      longUncached: summarise(uncachedSamples, uncachedMs),
      writers4: { command: cmdW, raw: rawW },
      loadAverage: loadavg(),
    };
    const ms = (n: number) => `${n.toFixed(2)} ms`;
    const line = (l: Latency) => `p50 ${ms(l.p50)}  p99 ${ms(l.p99)}  ${Math.round(l.perSec)}/s`;
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    console.log(
      `command handler bench (${ROUNDS} alternating rounds of ${PER_ROUND}; load average ${result.loadAverage.map((n) => n.toFixed(1)).join(' ')})`,
    );
    console.log(`  single-event command (TagFile), sequential: ${line(result.command)}   (goal p99 < 5 ms)`);
    console.log(`  raw INSERT of one event row, sequential:     ${line(result.raw)}`);
    console.log(
      `  command / raw: throughput ${ratio(result.command.perSec, result.raw.perSec)}, p50 ${ratio(result.command.p50, result.raw.p50)}x, p99 ${ratio(result.command.p99, result.raw.p99)}x`,
    );
    console.log(`  stream of ${LONG_HISTORY}+ events, cached state:   ${line(result.longCached)}`);
    console.log(`  stream of ${LONG_HISTORY}+ events, read + re-fold: ${line(result.longUncached)}`);
    console.log(
      `  ${WRITERS} writers: commands ${Math.round(cmdW)}/s   raw INSERT ${Math.round(rawW)}/s   ratio ${ratio(cmdW, rawW)}`,
    );
    console.log(`  (stream ${fileStreamId(long)} ends at version ${1 + LONG_HISTORY + ROUNDS * (PER_ROUND / 2)})`);
    return result;
  } finally {
    await store.close();
    await pool.end();
    await database.drop();
  }
}

runIfMain(import.meta.url, main);
