import { once } from 'node:events';
import type { Response } from 'express';
import type { ApiDependencies } from '../dependencies.js';
import { maySeeSummaryOf, outwardEvent, type Reader, streamPermission } from '../disclosure.js';
import { route } from '../http/route.js';
import {
  AsOfState,
  AuditEntry,
  AuditHitSchema,
  AuditSearchQuery,
  AuditTrailQuery,
  ExportQuery,
  PageOf,
  ReplayQuery,
  SealKeyList,
  SearchPageOf,
  StreamParams,
  VerifyResult,
} from '../schemas.js';
import { asOfReply, describeAsOf, readerOf } from './helpers.js';

/**
 * Audit entries (trail and search hits) whose event this reader may see whole. Filtering a fetched
 * page keeps its cursor right (it was taken from the last row read), so a page may hold fewer items.
 */
function visibleEntries<T extends { items: readonly object[] }>(page: T, reader: Reader, typeKey: string): T {
  return {
    ...page,
    items: page.items.filter((item) => maySeeSummaryOf(reader, String((item as Record<string, unknown>)[typeKey]))),
  };
}

const EXPORT_BATCH = 1000;

/** Writes honouring backpressure: waits for 'drain' when the socket buffer is full. */
export async function writeChunk(res: Response, chunk: string): Promise<boolean> {
  if (res.destroyed) return false;
  if (!res.write(chunk)) {
    await Promise.race([once(res, 'drain'), once(res, 'close')]);
  }
  return !res.destroyed;
}

/** The export's trailer: the keys of the seals over from..to, then those seals. */
export async function sealLines(deps: Pick<ApiDependencies, 'auditVerifier'>, from: number, to: number) {
  const seals = (await deps.auditVerifier.seals({ from, to })) as readonly { keyId?: string | null }[];
  const used = new Set(seals.map((seal) => seal.keyId).filter(Boolean));
  const keys = (await deps.auditVerifier.sealKeys()).filter((key) => used.has(key.keyId));
  return [
    ...keys.map((key) => JSON.stringify({ record: 'seal-key', ...key })),
    ...seals.map((seal) => JSON.stringify({ record: 'seal', ...seal })),
  ]
    .map((line) => `${line}\n`)
    .join('');
}

export const auditRoutes = (deps: ApiDependencies) => [
  route({
    method: 'get',
    path: '/v1/audit/trail',
    operationId: 'auditTrail',
    summary: 'Who did what, when (the audit-trail read model)',
    tag: 'audit',
    permission: 'audit:read',
    query: AuditTrailQuery,
    responses: { 200: { description: 'A page of audit entries', schema: PageOf(AuditEntry) } },
    handle: async (input) => ({
      status: 200,
      body: visibleEntries(await deps.queries.auditTrail(input.query), readerOf(input), 'type'),
    }),
  }),
  route({
    method: 'get',
    path: '/v1/audit/search',
    operationId: 'searchAudit',
    summary: 'Search the audit trail by actor, action, time and free text',
    tag: 'audit',
    permission: 'audit:read',
    query: AuditSearchQuery,
    responses: { 200: { description: 'A page of audit search hits', schema: SearchPageOf(AuditHitSchema) } },
    handle: async (input) => {
      const { q, ...rest } = input.query;
      const page = await deps.search.searchAudit({ ...rest, ...(q ? { text: q } : {}) });
      return { status: 200, body: visibleEntries(page, readerOf(input), 'eventType') };
    },
  }),
  route({
    method: 'get',
    path: '/v1/audit/verify',
    operationId: 'verifyAudit',
    summary: 'Recompute every hash chain and seal; names the first altered, inserted or deleted event',
    tag: 'audit',
    permission: 'audit:read',
    sensitive: () => ({ action: 'audit.verify', resource: 'events', permission: 'audit:verify' }),
    responses: { 200: { description: 'Verification result', schema: VerifyResult } },
    handle: async () => ({ status: 200, body: await deps.auditVerifier.verify() }),
  }),
  route({
    method: 'get',
    path: '/v1/audit/seal-keys',
    operationId: 'sealKeys',
    summary: 'The Ed25519 public keys seals are signed with, by key id, as the log recorded them',
    description:
      'Public, so anyone can check a seal. Pin the keys you trust (or keep the seal anchor): a key listed here ' +
      'is what the log says, and whoever can edit the database could add one. docs/integrity.md has the formats.',
    tag: 'audit',
    permission: 'public',
    responses: { 200: { description: 'Every seal key, oldest first', schema: SealKeyList } },
    handle: async () => ({ status: 200, body: { items: await deps.auditVerifier.sealKeys() } }),
  }),
  route({
    method: 'get',
    path: '/v1/audit/export',
    operationId: 'exportEvents',
    summary:
      'The stored events you may read, in global order, as NDJSON (with hashes), then the seals over them and their public keys',
    description:
      'Only events of the categories your permissions allow; secret fields (API-key hashes) are removed and ' +
      'named in `redacted` (their hash cannot be recomputed). `?raw=true` (audit:export-raw, admin only) ' +
      'exports every event exactly as stored, for offline hash verification. Event lines carry hash, prevHash ' +
      'and hashVersion; then one `{"record":"seal-key",...}` line per key of the seals that follow, and one ' +
      '`{"record":"seal",...}` line per seal overlapping the range (docs/integrity.md says how to verify them offline).',
    tag: 'audit',
    permission: 'audit:read',
    query: ExportQuery,
    sensitive: ({ query }) => ({
      action: 'audit.export',
      resource: `events?after=${query.after}${query.to ? `&to=${query.to}` : ''}${query.raw ? '&raw=true' : ''}`,
      permission: query.raw ? 'audit:export-raw' : 'audit:export',
    }),
    responses: { 200: { description: 'One JSON event per line', contentType: 'application/x-ndjson' } },
    handle: async (input) => {
      const { query, res } = input;
      const reader: Reader = { ...readerOf(input), raw: query.raw };
      res.status(200).type('application/x-ndjson');
      res.setHeader('Content-Disposition', 'attachment; filename="chitti-events.ndjson"');
      let after = query.after;
      const end = query.to ?? (await deps.log.headPosition());
      while (after < end) {
        const batch = await deps.log.readAll({ after, maxCount: EXPORT_BATCH });
        if (batch.length === 0) break;
        let chunk = '';
        for (const event of batch) {
          if (event.globalPosition > end) break;
          const shown = outwardEvent(reader, event);
          if (shown) chunk += `${JSON.stringify(shown)}\n`;
        }
        if (chunk && !(await writeChunk(res, chunk))) return undefined;
        after = batch.at(-1)!.globalPosition;
      }
      if (!(await writeChunk(res, await sealLines(deps, query.after + 1, end)))) return undefined;
      res.end();
      return undefined;
    },
  }),
  route({
    method: 'get',
    path: '/v1/audit/streams/:streamId',
    operationId: 'replayStream',
    summary: 'Replay any aggregate: its state folded from its events up to ?asOf= (position or time)',
    tag: 'audit',
    permission: 'audit:read',
    params: StreamParams,
    query: ReplayQuery,
    sensitive: ({ params, query }) => {
      // The permission of the stream's event category too, so that refusal is recorded as one.
      const category = streamPermission(params.streamId);
      return {
        action: 'audit.replay',
        resource: query.asOf ? `${params.streamId}?${describeAsOf(query.asOf)}` : params.streamId,
        permission: 'history:as-of',
        ...(category ? { also: [category] } : {}),
      };
    },
    responses: {
      200: { description: 'The folded state', schema: AsOfState },
      404: { description: 'No such stream then' },
    },
    handle: async (input) =>
      asOfReply(deps.history, readerOf(input), input.params.streamId, input.query.asOf ?? { asOf: new Date() }),
  }),
];
