import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyTagChange, filesProjection } from '../../projections/read-models/files.js';
import { createLogFixture, emit, type LogFixture, projectToHead, rowsOf } from './support.js';

let fx: LogFixture;
beforeAll(async () => {
  fx = await createLogFixture(4);
});
afterAll(async () => {
  await fx.close();
});

const uploaded = (fileId: string, tags: string[]) => ({
  fileId,
  sha256: fileId.padEnd(64, '0').replace(/[^a-f0-9]/g, 'a'),
  sizeBytes: 1234,
  mediaType: 'image/tiff',
  width: 4000,
  height: 3000,
  bitDepth: 16,
  channels: 1,
  originalName: `${fileId}.tif`,
  uploadedBy: 'olga',
  tags,
});

describe('files read model', () => {
  it('keeps tags unique and sorted', () => {
    expect(applyTagChange(['b', 'a'], ['c', 'a'], ['b'])).toEqual(['a', 'c']);
  });

  it('shows uploads, tag changes and the deletion tombstone', async () => {
    await emit(fx, 'file-f1', 'FileUploaded', uploaded('f1', ['weld', 'line-a']), 'olga');
    await emit(fx, 'file-f2', 'FileUploaded', uploaded('f2', []), 'olga');
    await emit(
      fx,
      'file-f1',
      'FileTagged',
      { fileId: 'f1', added: ['urgent'], removed: ['line-a'], taggedBy: 'rita' },
      'rita',
    );
    await projectToHead(fx, [filesProjection], { batchSize: 2 });
    await emit(fx, 'file-f2', 'FileDeleted', {
      fileId: 'f2',
      sha256: uploaded('f2', []).sha256,
      reason: 'GDPR request',
      deletedBy: 'admin',
    });
    await projectToHead(fx, [filesProjection]);

    const rows = await rowsOf(fx, 'SELECT * FROM read.files ORDER BY file_id');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      file_id: 'f1',
      media_type: 'image/tiff',
      width: 4000,
      height: 3000,
      bit_depth: 16,
      original_name: 'f1.tif',
      uploaded_by: 'olga',
      tags: ['urgent', 'weld'],
      deleted: false,
      deleted_at: null,
    });
    expect(rows[1]).toMatchObject({
      file_id: 'f2',
      deleted: true,
      deleted_by: 'admin',
      delete_reason: 'GDPR request',
      tags: [],
    });
    expect(rows[1]!.deleted_at).toBeInstanceOf(Date);
    expect(Number(rows[1]!.last_position)).toBeGreaterThan(Number(rows[1]!.uploaded_position));
  });
});
