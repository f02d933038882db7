import { isEventType, type RecordedEvent } from '../../schemas/events/index.js';
import type { Projection, TableNames } from '../projection.js';
import { insertRows, type Tx } from '../sql.js';
import { col, defineTable } from '../table.js';
import { summarise } from './audit-summary.js';
import { decode } from './decode.js';

export const auditTrailTable = defineTable(
  'audit_trail',
  {
    position: col.bigint(),
    recorded_at: col.timestamptz(),
    stream_id: col.text(),
    stream_version: col.integer(),
    event_id: col.text(),
    type: col.text(),
    schema_version: col.integer(),
    actor: col.text(),
    correlation_id: col.text().nullable(),
    causation_id: col.text().nullable(),
    summary: col.text(),
  },
  {
    primaryKey: ['position'],
    indexes: ['(actor, position)', '(stream_id, position)', '(type, position)', '(recorded_at)', '(correlation_id)'],
  },
);

/** Events of a type this build does not know still get a row: the trail must never have holes. */
const summaryOf = (event: RecordedEvent): string =>
  isEventType(event.type)
    ? summarise(decode(event).domain)
    : `${event.type} v${event.schemaVersion} (unknown to this version of Chitti)`;

async function apply(tx: Tx, events: readonly RecordedEvent[], tables: TableNames): Promise<void> {
  await insertRows(
    tx,
    tables('audit_trail'),
    auditTrailTable,
    events.map((e) => ({
      position: e.globalPosition,
      recorded_at: e.recordedAt,
      stream_id: e.streamId,
      stream_version: e.streamVersion,
      event_id: e.eventId,
      type: e.type,
      schema_version: e.schemaVersion,
      actor: e.metadata.actor,
      correlation_id: e.metadata.correlationId ?? null,
      causation_id: e.metadata.causationId ?? null,
      summary: summaryOf(e),
    })),
    { ignoreConflicts: true },
  );
}

export const auditTrailProjection: Projection = {
  name: 'audit_trail',
  version: 1,
  tables: [auditTrailTable],
  handles: 'all',
  apply,
};
