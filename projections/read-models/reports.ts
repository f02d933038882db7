import type { RecordedEvent } from '../../schemas/events/index.js';
import type { Projection, TableNames } from '../projection.js';
import { insertRows, type Tx } from '../sql.js';
import { col, defineTable } from '../table.js';
import { decode } from './decode.js';

/** Every report handed out, by the sha256 of its exact bytes: what `report verify` looks a file up in. */
export const issuedReportsTable = defineTable(
  'issued_reports',
  {
    position: col.bigint(),
    report_sha256: col.text(),
    inspection_id: col.text(),
    format: col.text(),
    size_bytes: col.bigint(),
    as_of: col.text().nullable(),
    shadow: col.boolean(),
    covers_version: col.integer(),
    covers_position: col.bigint(),
    covers_hash: col.text(),
    issued_by: col.text(),
    issued_at: col.timestamptz(),
  },
  { primaryKey: ['position'], indexes: ['(report_sha256)', '(inspection_id)'] },
);

async function apply(tx: Tx, events: readonly RecordedEvent[], tables: TableNames): Promise<void> {
  const rows: (typeof issuedReportsTable.Row)[] = [];
  for (const event of events) {
    const { domain } = decode(event);
    if (domain.type !== 'ReportIssued') continue;
    const d = domain.data;
    rows.push({
      position: event.globalPosition,
      report_sha256: d.reportSha256,
      inspection_id: d.inspectionId,
      format: d.format,
      size_bytes: d.sizeBytes,
      as_of: d.asOf,
      shadow: d.shadow,
      covers_version: d.covers.streamVersion,
      covers_position: d.covers.globalPosition,
      covers_hash: d.covers.eventHash,
      issued_by: d.issuedBy,
      issued_at: event.recordedAt,
    });
  }
  await insertRows(tx, tables('issued_reports'), issuedReportsTable, rows, { ignoreConflicts: true });
}

export const reportsProjection: Projection = {
  name: 'reports',
  version: 1,
  tables: [issuedReportsTable],
  handles: new Set(['ReportIssued']),
  apply,
};
