import { DomainConflict, DomainRuleViolation, NotFound } from '../errors.js';
import type { DeleteFileCommand, FileCommand, TagFileCommand, UploadFileCommand } from './commands.js';
import { sanitizeFileName } from './sanitize-file-name.js';
import type { FileEvent, FileState } from './state.js';

export const MAX_TAGS_PER_FILE = 50;

export function decideFile(command: FileCommand, state: FileState): FileEvent[] {
  switch (command.type) {
    case 'UploadFile':
      return upload(command, state);
    case 'TagFile':
      return tag(command, state);
    case 'DeleteFile':
      return remove(command, state);
  }
}

function upload({ data, actor }: UploadFileCommand, state: FileState): FileEvent[] {
  if (state.status !== 'absent') {
    // The same bytes under the same id again (a client retry, or a DICOM instance sent twice) is already satisfied.
    if (state.status === 'uploaded' && state.upload.sha256 === data.sha256) return [];
    const deleted = state.status === 'deleted';
    const instance = data.dicom?.sopInstanceUid;
    // A DICOM file's id is derived from its SOP Instance UID: the id names the instance, not these bytes.
    const what = instance
      ? `DICOM instance ${instance} was uploaded as file '${data.fileId}'`
      : `file '${data.fileId}'`;
    throw new DomainConflict(
      deleted ? 'file.deleted' : 'file.already-exists',
      deleted
        ? `${what}, which was deleted; its id cannot be reused`
        : `${what} ${instance ? 'before, with other bytes' : 'already exists with different content'}`,
      instance ? { fileId: data.fileId, sopInstanceUid: instance } : { fileId: data.fileId },
    );
  }
  const tags = [...new Set(data.tags)].sort();
  return [
    {
      type: 'FileUploaded',
      data: {
        fileId: data.fileId,
        sha256: data.sha256,
        sizeBytes: data.sizeBytes,
        mediaType: data.mediaType,
        width: data.width,
        height: data.height,
        bitDepth: data.bitDepth,
        channels: data.channels,
        originalName: sanitizeFileName(data.originalName),
        uploadedBy: actor,
        tags,
        ...(data.pixelSpacingMm ? { pixelSpacingMm: data.pixelSpacingMm } : {}),
        ...(data.dicom ? { dicom: data.dicom } : {}),
      },
    },
  ];
}

function tag({ data, actor }: TagFileCommand, state: FileState): FileEvent[] {
  const file = requireLiveFile(state, data.fileId);
  const both = data.add.filter((t) => data.remove.includes(t));
  if (both.length > 0) {
    throw new DomainRuleViolation('file.tag-added-and-removed', `tags both added and removed: ${both.join(', ')}`, {
      tags: both,
    });
  }
  const current = new Set(file.tags);
  const added = [...new Set(data.add)].filter((t) => !current.has(t)).sort();
  const removed = [...new Set(data.remove)].filter((t) => current.has(t)).sort();
  if (added.length === 0 && removed.length === 0) return [];
  const total = current.size + added.length - removed.length;
  if (total > MAX_TAGS_PER_FILE) {
    throw new DomainRuleViolation('file.too-many-tags', `a file may carry at most ${MAX_TAGS_PER_FILE} tags`, {
      tags: total,
    });
  }
  return [{ type: 'FileTagged', data: { fileId: data.fileId, added, removed, taggedBy: actor } }];
}

function remove({ data, actor }: DeleteFileCommand, state: FileState): FileEvent[] {
  if (state.status === 'absent') throw new NotFound('file', data.fileId);
  if (state.status === 'deleted') return [];
  return [
    {
      type: 'FileDeleted',
      data: { fileId: data.fileId, sha256: state.upload.sha256, reason: data.reason, deletedBy: actor },
    },
  ];
}

function requireLiveFile(state: FileState, fileId: string): Exclude<FileState, { status: 'absent' }> {
  if (state.status === 'absent') throw new NotFound('file', fileId);
  if (state.status === 'deleted') {
    throw new DomainRuleViolation('file.deleted', `file '${fileId}' is deleted`, { fileId });
  }
  return state;
}
