import type { RecordedEvent } from '../../schemas/events/index.js';
import type { Projection, TableNames } from '../projection.js';
import { insertRows, type TableSpec, type Tx } from '../sql.js';
import { decode } from './decode.js';

/** Every report handed out, by the sha256 of its exact bytes: what `report verify` looks a file up in. */
export const issuedReportsTable: TableSpec = {
  name: 'issued_reports',
  columns: [
    { name: 'position', type: 'bigint' },
    { name: 'report_sha256', type: 'text' },
    { name: 'inspection_id', type: 'text' },
    { name: 'format', type: 'text' },
    { name: 'size_bytes', type: 'bigint' },
    { name: 'as_of', type: 'text', nullable: true },
    { name: 'shadow', type: 'boolean' },
    { name: 'covers_version', type: 'integer' },
    { name: 'covers_position', type: 'bigint' },
    { name: 'covers_hash', type: 'text' },
    { name: 'issued_by', type: 'text' },
    { name: 'issued_at', type: 'timestamptz' },
  ],
  primaryKey: ['position'],
  indexes: ['(report_sha256)', '(inspection_id)'],
};

async function apply(tx: Tx, events: readonly RecordedEvent[], tables: TableNames): Promise<void> {
  const rows = [];
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
  await insertRows(tx, tables('issued_reports'), issuedReportsTable.columns, rows, { ignoreConflicts: true });
}

export const reportsProjection: Projection = {
  name: 'reports',
  version: 1,
  tables: [issuedReportsTable],
  handles: new Set(['ReportIssued']),
  apply,
};
