import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarise } from '../../projections/read-models/audit-summary.js';
import { auditTrailProjection } from '../../projections/read-models/audit-trail.js';
import { InspectionRequested } from '../../schemas/events/inspection.js';
import { requested } from './events.js';
import { createLogFixture, emit, type LogFixture, projectToHead, rowsOf } from './support.js';

let fx: LogFixture;
beforeAll(async () => {
  fx = await createLogFixture(4);
});
afterAll(async () => {
  await fx.close();
});

describe('audit trail read model', () => {
  it('writes a row per event with actor, correlation id and a readable summary', async () => {
    await emit(fx, 'inspection-i9', 'InspectionRequested', requested('i9', 'f9'), 'olga', 'corr-1');
    await emit(fx, 'user-u1', 'RoleGranted', { userId: 'u1', role: 'auditor', grantedBy: 'admin' }, 'admin');
    await emit(
      fx,
      'access-2026-11-23',
      'AccessRecorded',
      {
        actor: 'audrey',
        action: 'audit.export',
        resource: 'inspection-i9',
        decision: 'denied',
        reason: 'no role',
        count: 1,
        window: null,
      },
      'audrey',
      'corr-2',
    );
    await projectToHead(fx, [auditTrailProjection], { batchSize: 2 });
    const rows = await rowsOf(
      fx,
      'SELECT position::int, stream_id, stream_version, type, schema_version, actor, correlation_id, summary FROM read.audit_trail ORDER BY position',
    );
    const positions = (await rowsOf(fx, 'SELECT global_position::int AS p FROM events ORDER BY 1')).map((r) => r.p);
    expect(rows.map((r) => r.position)).toEqual(positions);
    expect(rows).toMatchObject([
      {
        stream_id: 'inspection-i9',
        stream_version: 1,
        type: 'InspectionRequested',
        // the version the event was written at: today's InspectionRequested
        schema_version: InspectionRequested.version,
        actor: 'olga',
        correlation_id: 'corr-1',
        summary: 'olga requested inspection i9 of file f9 with weld@1.0.0 (explicit)',
      },
      {
        stream_id: 'user-u1',
        type: 'RoleGranted',
        actor: 'admin',
        correlation_id: null,
        summary: 'admin granted auditor to user u1',
      },
      {
        stream_id: 'access-2026-11-23',
        actor: 'audrey',
        correlation_id: 'corr-2',
        summary: 'audrey was denied audit.export on inspection-i9: no role',
      },
    ]);
  });
});

describe('audit summary of coalesced denials', () => {
  it('says how many refusals one record stands for and when', () => {
    const line = summarise({
      type: 'AccessRecorded',
      data: {
        actor: 'viewer-9',
        action: 'aggregate.as-of',
        resource: 'GET /v1/files/:fileId',
        decision: 'denied',
        reason: 'lacks history:as-of',
        count: 41,
        window: { from: '2026-11-23T09:14:02.113Z', to: '2026-11-23T09:15:01.870Z' },
      },
    });
    expect(line).toBe(
      'viewer-9 was denied aggregate.as-of on GET /v1/files/:fileId 41 time(s) between 2026-11-23T09:14:02.113Z and 2026-11-23T09:15:01.870Z: lacks history:as-of',
    );
  });
});
