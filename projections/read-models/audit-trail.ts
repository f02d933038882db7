import { isEventType, type RecordedEvent } from '../../schemas/events/index.js';
import type { Projection, TableNames } from '../projection.js';
import { insertRows, type TableSpec, type Tx } from '../sql.js';
import { summarise } from './audit-summary.js';
import { decode } from './decode.js';

export const auditTrailTable: TableSpec = {
  name: 'audit_trail',
  columns: [
    { name: 'position', type: 'bigint' },
    { name: 'recorded_at', type: 'timestamptz' },
    { name: 'stream_id', type: 'text' },
    { name: 'stream_version', type: 'integer' },
    { name: 'event_id', type: 'text' },
    { name: 'type', type: 'text' },
    { name: 'schema_version', type: 'integer' },
    { name: 'actor', type: 'text' },
    { name: 'correlation_id', type: 'text', nullable: true },
    { name: 'causation_id', type: 'text', nullable: true },
    { name: 'summary', type: 'text' },
  ],
  primaryKey: ['position'],
  indexes: ['(actor, position)', '(stream_id, position)', '(type, position)', '(recorded_at)', '(correlation_id)'],
};

/** Events of a type this build does not know still get a row: the trail must never have holes. */
const summaryOf = (event: RecordedEvent): string =>
  isEventType(event.type)
    ? summarise(decode(event).domain)
    : `${event.type} v${event.schemaVersion} (unknown to this version of Chitti)`;

async function apply(tx: Tx, events: readonly RecordedEvent[], tables: TableNames): Promise<void> {
  await insertRows(
    tx,
    tables('audit_trail'),
    auditTrailTable.columns,
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
