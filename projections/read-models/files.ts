import { z } from 'zod';
import type { RecordedEvent } from '../../schemas/events/index.js';
import { DicomHeader } from '../../schemas/events/index.js';
import type { Projection, TableNames } from '../projection.js';
import { loadRows, type Tx, upsertRows } from '../sql.js';
import { col, defineTable } from '../table.js';
import { decode } from './decode.js';

export const filesTable = defineTable(
  'files',
  {
    file_id: col.text(),
    sha256: col.text(),
    size_bytes: col.bigint(),
    media_type: col.text(),
    width: col.integer(),
    height: col.integer(),
    bit_depth: col.integer(),
    channels: col.integer(),
    original_name: col.text(),
    uploaded_by: col.text(),
    uploaded_at: col.timestamptz(),
    uploaded_position: col.bigint(),
    tags: col.jsonb(z.array(z.string())),
    /** Pixel spacing in mm (DICOM header or upload parameter); null when unknown. */
    pixel_spacing_row_mm: col.double().nullable(),
    pixel_spacing_column_mm: col.double().nullable(),
    /** The allow-listed DICOM header; null for other formats. */
    dicom: col.jsonb(DicomHeader).nullable(),
    deleted: col.boolean(),
    deleted_at: col.timestamptz().nullable(),
    deleted_by: col.text().nullable(),
    delete_reason: col.text().nullable(),
    updated_at: col.timestamptz(),
    last_position: col.bigint(),
    /** The file stream's version at last_position: the ETag, without a read of the stream. */
    stream_version: col.integer(),
  },
  { primaryKey: ['file_id'], indexes: ['(uploaded_position)', 'USING gin (tags)', '(sha256)'] },
);
export type FileRow = typeof filesTable.Row;

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
  const rows = await loadRows(tx, table, filesTable, 'file_id', ids);
  const dirty = new Set<string>();
  for (const { event, domain } of decoded) {
    const touched = (row: FileRow) => {
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
        row.tags = applyTagChange(row.tags, domain.data.added, domain.data.removed);
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
