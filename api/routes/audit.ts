import { once } from 'node:events';
import type { Response } from 'express';
import type { RecordedEvent } from '../../schemas/events/index.js';
import type { ApiDependencies } from '../dependencies.js';
import { badRequest } from '../http/problem.js';
import { route } from '../http/route.js';
import {
  AsOfState,
  AuditSearchQuery,
  AuditTrailQuery,
  ExportQuery,
  ReadModelPage,
  ReplayQuery,
  SealKeyList,
  StreamParams,
  VerifyResult,
} from '../schemas.js';
import { asOfReply, describeAsOf } from './helpers.js';

const EXPORT_BATCH = 1000;

/** The stored event as exported and streamed: positions, content, metadata and hash. */
export const eventJson = (event: RecordedEvent) => ({
  globalPosition: event.globalPosition,
  streamId: event.streamId,
  streamVersion: event.streamVersion,
  eventId: event.eventId,
  type: event.type,
  schemaVersion: event.schemaVersion,
  data: event.data,
  metadata: event.metadata,
  recordedAt: event.recordedAt.toISOString(),
  hash: event.hash,
  ...(event.prevHash !== undefined ? { prevHash: event.prevHash } : {}),
  ...(event.hashVersion !== undefined ? { hashVersion: event.hashVersion } : {}),
});

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
    responses: { 200: { description: 'A page of audit entries', schema: ReadModelPage } },
    handle: async ({ query }) => ({ status: 200, body: await deps.queries.auditTrail(query) }),
  }),
  route({
    method: 'get',
    path: '/v1/audit/search',
    operationId: 'searchAudit',
    summary: 'Search the audit trail by actor, action, time and free text',
    tag: 'audit',
    permission: 'audit:read',
    query: AuditSearchQuery,
    responses: { 200: { description: 'A page of audit entries', schema: ReadModelPage } },
    handle: async ({ query }) => {
      const { q, ...rest } = query;
      return { status: 200, body: await deps.search.searchAudit({ ...rest, ...(q ? { text: q } : {}) }) };
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
    summary: 'Every stored event in global order as NDJSON, then the seals over them and their public keys',
    description:
      'Event lines as stored (hash, prevHash, hashVersion); then one `{"record":"seal-key",...}` line per key ' +
      'of the seals that follow, and one `{"record":"seal",...}` line per seal overlapping the range ' +
      '(docs/integrity.md says how to verify them offline).',
    tag: 'audit',
    permission: 'audit:read',
    query: ExportQuery,
    sensitive: ({ query }) => ({
      action: 'audit.export',
      resource: `events?after=${query.after}${query.to ? `&to=${query.to}` : ''}`,
      permission: 'audit:export',
    }),
    responses: { 200: { description: 'One JSON event per line', contentType: 'application/x-ndjson' } },
    handle: async ({ query, res }) => {
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
          chunk += `${JSON.stringify(eventJson(event))}\n`;
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
    sensitive: ({ params, query }) => ({
      action: 'audit.replay',
      resource: query.asOf ? `${params.streamId}?${describeAsOf(query.asOf)}` : params.streamId,
      permission: 'history:as-of',
    }),
    responses: {
      200: { description: 'The folded state', schema: AsOfState },
      404: { description: 'No such stream then' },
    },
    handle: async ({ params, query }) => {
      if (params.streamId.startsWith('access-'))
        throw badRequest('access streams have no aggregate state; export them');
      return asOfReply(deps.history, params.streamId, query.asOf ?? { asOf: new Date() });
    },
  }),
];
