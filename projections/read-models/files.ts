import type { RecordedEvent } from '../../schemas/events/index.js';
import type { Projection, TableNames } from '../projection.js';
import { loadRows, type Row, type TableSpec, type Tx, upsertRows } from '../sql.js';
import { decode } from './decode.js';

export const filesTable: TableSpec = {
  name: 'files',
  columns: [
    { name: 'file_id', type: 'text' },
    { name: 'sha256', type: 'text' },
    { name: 'size_bytes', type: 'bigint' },
    { name: 'media_type', type: 'text' },
    { name: 'width', type: 'integer' },
    { name: 'height', type: 'integer' },
    { name: 'bit_depth', type: 'integer' },
    { name: 'channels', type: 'integer' },
    { name: 'original_name', type: 'text' },
    { name: 'uploaded_by', type: 'text' },
    { name: 'uploaded_at', type: 'timestamptz' },
    { name: 'uploaded_position', type: 'bigint' },
    { name: 'tags', type: 'jsonb' },
    /** Pixel spacing in mm (DICOM header or upload parameter); null when unknown. */
    { name: 'pixel_spacing_row_mm', type: 'double precision', nullable: true },
    { name: 'pixel_spacing_column_mm', type: 'double precision', nullable: true },
    /** The allow-listed DICOM header; null for other formats. */
    { name: 'dicom', type: 'jsonb', nullable: true },
    { name: 'deleted', type: 'boolean' },
    { name: 'deleted_at', type: 'timestamptz', nullable: true },
    { name: 'deleted_by', type: 'text', nullable: true },
    { name: 'delete_reason', type: 'text', nullable: true },
    { name: 'updated_at', type: 'timestamptz' },
    { name: 'last_position', type: 'bigint' },
    /** The file stream's version at last_position: the ETag, without a read of the stream. */
    { name: 'stream_version', type: 'integer' },
  ],
  primaryKey: ['file_id'],
  indexes: ['(uploaded_position)', 'USING gin (tags)', '(sha256)'],
};

const FILE_EVENTS = new Set(['FileUploaded', 'FileTagged', 'FileDeleted']);

/** Tags stay unique and sorted so the same history always yields the same row. */
export function applyTagChange(
  tags: readonly string[],
  added: readonly string[],
  removed: readonly string[],
): string[] {
  const result = new Set(tags);
  for (const tag of removed) result.delete(tag);
  for (const tag of added) result.add(tag);
  return [...result].sort();
}

async function apply(tx: Tx, events: readonly RecordedEvent[], tables: TableNames): Promise<void> {
  const table = tables('files');
  const decoded = events.map(decode);
  const ids = decoded.map((d) => (d.domain.data as { fileId: string }).fileId);
  const rows = await loadRows(tx, table, 'file_id', ids);
  const dirty = new Set<string>();
  for (const { event, domain } of decoded) {
    const touched = (row: Row) => {
      row.updated_at = event.recordedAt;
      row.last_position = event.globalPosition;
      row.stream_version = event.streamVersion;
    };
    switch (domain.type) {
      case 'FileUploaded': {
        const d = domain.data;
        rows.set(d.fileId, {
          file_id: d.fileId,
          sha256: d.sha256,
          size_bytes: d.sizeBytes,
          media_type: d.mediaType,
          width: d.width,
          height: d.height,
          bit_depth: d.bitDepth,
          channels: d.channels,
          original_name: d.originalName,
          uploaded_by: d.uploadedBy,
          uploaded_at: event.recordedAt,
          uploaded_position: event.globalPosition,
          tags: applyTagChange([], d.tags, []),
          pixel_spacing_row_mm: d.pixelSpacingMm?.row ?? null,
          pixel_spacing_column_mm: d.pixelSpacingMm?.column ?? null,
          dicom: d.dicom ?? null,
          deleted: false,
          deleted_at: null,
          deleted_by: null,
          delete_reason: null,
          updated_at: event.recordedAt,
          last_position: event.globalPosition,
          stream_version: event.streamVersion,
        });
        dirty.add(d.fileId);
        break;
      }
      case 'FileTagged': {
        const row = rows.get(domain.data.fileId);
        if (!row) break; // the decider never tags an unknown file; nothing to show for one
        row.tags = applyTagChange(row.tags as string[], domain.data.added, domain.data.removed);
        touched(row);
        dirty.add(domain.data.fileId);
        break;
      }
      case 'FileDeleted': {
        const row = rows.get(domain.data.fileId);
        if (!row) break;
        row.deleted = true;
        row.deleted_at = event.recordedAt;
        row.deleted_by = domain.data.deletedBy;
        row.delete_reason = domain.data.reason;
        touched(row);
        dirty.add(domain.data.fileId);
        break;
      }
      default:
        break;
    }
  }
  await upsertRows(
    tx,
    table,
    filesTable,
    [...dirty].map((id) => rows.get(id)!),
  );
}

export const filesProjection: Projection = {
  name: 'files',
  // 2: pixel spacing and the DICOM header.
  // 3: stream_version (the ETag of GET /v1/files/{id} without reading the stream).
  version: 3,
  tables: [filesTable],
  handles: FILE_EVENTS,
  apply,
};
