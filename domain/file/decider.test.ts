import { describe, expect, it } from 'vitest';
import { spec } from '../../test/support/decider-spec.js';
import { DomainConflict, DomainRuleViolation, NotFound } from '../errors.js';
import type { UploadFileCommand } from './commands.js';
import { type FileEvent, fileDecider, sanitizeFileName } from './index.js';

const sha = 'a'.repeat(64);
const upload = (over: Partial<UploadFileCommand['data']> = {}): UploadFileCommand => ({
  type: 'UploadFile',
  actor: 'user-1',
  data: {
    fileId: 'f1',
    sha256: sha,
    sizeBytes: 1000,
    mediaType: 'image/png',
    width: 640,
    height: 480,
    bitDepth: 8,
    channels: 3,
    originalName: 'weld-01.png',
    tags: ['weld'],
    ...over,
  },
});
const uploaded: FileEvent = {
  type: 'FileUploaded',
  data: {
    fileId: 'f1',
    sha256: sha,
    sizeBytes: 1000,
    mediaType: 'image/png',
    width: 640,
    height: 480,
    bitDepth: 8,
    channels: 3,
    originalName: 'weld-01.png',
    uploadedBy: 'user-1',
    tags: ['weld'],
  },
};
const deleted: FileEvent = {
  type: 'FileDeleted',
  data: { fileId: 'f1', sha256: sha, reason: 'gdpr', deletedBy: 'admin' },
};
const file = spec(fileDecider);

describe('file decider', () => {
  describe('UploadFile', () => {
    it('records the upload with a sanitised name and sorted unique tags', () => {
      file
        .given([])
        .when(upload({ originalName: '../../etc/\u0000pass wd.png', tags: ['b', 'a', 'b'] }))
        .then([{ ...uploaded, data: { ...uploaded.data, originalName: 'pass wd.png', tags: ['a', 'b'] } }]);
    });
    it('is a no-op when the same bytes are uploaded again under the same id', () => {
      file.given([uploaded]).when(upload()).thenNothing();
    });
    it('refuses a second upload of the id with different content', () => {
      file
        .given([uploaded])
        .when(upload({ sha256: 'b'.repeat(64) }))
        .thenThrows(DomainConflict, 'file.already-exists');
    });
    it('refuses to reuse the id of a deleted file', () => {
      file.given([uploaded, deleted]).when(upload()).thenThrows(DomainConflict, 'file.deleted');
    });
  });

  describe('UploadFile of a DICOM instance', () => {
    const dicom: NonNullable<UploadFileCommand['data']['dicom']> = {
      sopInstanceUid: '1.2.826.0.1.3680043.10.1597.7',
      sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1',
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      modality: 'DX',
      manufacturer: null,
      manufacturerModelName: null,
      acquired: null,
      rows: 480,
      columns: 640,
      bitsAllocated: 16,
      bitsStored: 16,
      signed: false,
      photometricInterpretation: 'MONOCHROME2',
      presentationLutShape: null,
      rescale: { slope: 1, intercept: 0 },
      voiWindow: null,
      pixelSpacingTag: 'ImagerPixelSpacing',
      component: { id: 'W-42', name: null },
    };
    const spacing = { row: 0.2, column: 0.2 };
    const dicomUpload = (over: Partial<UploadFileCommand['data']> = {}) =>
      upload({ mediaType: 'application/dicom', bitDepth: 16, channels: 1, dicom, pixelSpacingMm: spacing, ...over });
    const dicomUploaded: FileEvent = {
      type: 'FileUploaded',
      data: {
        ...uploaded.data,
        mediaType: 'application/dicom',
        bitDepth: 16,
        channels: 1,
        pixelSpacingMm: spacing,
        dicom,
      },
    };
    it('records the pixel spacing and the allow-listed header', () => {
      file.given([]).when(dicomUpload()).then([dicomUploaded]);
    });
    it('records no spacing and no header for a plain image', () => {
      file.given([]).when(upload()).then([uploaded]);
    });
    it('is satisfied by the same instance with the same bytes', () => {
      file
        .given([dicomUploaded])
        .when(dicomUpload({ originalName: 'again.dcm' }))
        .thenNothing();
    });
    it('refuses the same instance with other bytes, naming the file and the instance', () => {
      file
        .given([dicomUploaded])
        .when(dicomUpload({ sha256: 'c'.repeat(64) }))
        .thenThrows(DomainConflict, 'file.already-exists');
      expect(() =>
        fileDecider.decide(
          dicomUpload({ sha256: 'c'.repeat(64) }),
          fileDecider.evolve(fileDecider.initialState(), dicomUploaded),
        ),
      ).toThrow(`DICOM instance ${dicom.sopInstanceUid} was uploaded as file 'f1' before, with other bytes`);
    });
  });

  describe('TagFile', () => {
    const tag = (add: string[], remove: string[] = []) =>
      ({ type: 'TagFile', actor: 'op', data: { fileId: 'f1', add, remove } }) as const;
    it('records only the effective changes', () => {
      file
        .given([uploaded])
        .when(tag(['weld', 'crack'], ['porosity', 'weld-x']))
        .then([{ type: 'FileTagged', data: { fileId: 'f1', added: ['crack'], removed: [], taggedBy: 'op' } }]);
    });
    it('removes a present tag and the state reflects it', () => {
      file
        .given([uploaded])
        .when(tag(['x'], ['weld']))
        .thenState((s) => expect(s.status !== 'absent' && s.tags).toEqual(['x']));
    });
    it('is a no-op when nothing changes', () => {
      file
        .given([uploaded])
        .when(tag(['weld']))
        .thenNothing();
    });
    it('refuses a tag both added and removed', () => {
      file
        .given([uploaded])
        .when(tag(['a'], ['a']))
        .thenThrows(DomainRuleViolation, 'file.tag-added-and-removed');
    });
    it('refuses more than 50 tags in total', () => {
      const many = Array.from({ length: 50 }, (_, i) => `t${i}`);
      file.given([uploaded]).when(tag(many)).thenThrows(DomainRuleViolation, 'file.too-many-tags');
    });
    it('refuses tagging a deleted file', () => {
      file
        .given([uploaded, deleted])
        .when(tag(['a']))
        .thenThrows(DomainRuleViolation, 'file.deleted');
    });
    it('refuses tagging a missing file', () => {
      file
        .given([])
        .when(tag(['a']))
        .thenThrows(NotFound, 'file.not-found');
    });
  });

  describe('DeleteFile', () => {
    const del = { type: 'DeleteFile', actor: 'admin', data: { fileId: 'f1', reason: 'gdpr' } } as const;
    it('writes a tombstone carrying the blob hash', () => {
      file.given([uploaded]).when(del).then([deleted]);
    });
    it('is idempotent on a deleted file', () => {
      file.given([uploaded, deleted]).when(del).thenNothing();
    });
    it('refuses a missing file', () => {
      file.given([]).when(del).thenThrows(NotFound);
    });
  });
});

describe('sanitizeFileName', () => {
  it.each([
    ['C:\\Users\\x\\scan.tiff', 'scan.tiff'],
    ['..', 'unnamed'],
    ['.hidden', 'hidden'],
    ['  a \t b  .png', 'a b .png'],
    ['a\u202Eb.png', 'ab.png'],
    ['', 'unnamed'],
  ])('%j -> %j', (raw, expected) => {
    expect(sanitizeFileName(raw)).toBe(expected);
  });
  it('truncates to 255 characters keeping the extension', () => {
    const name = sanitizeFileName(`${'x'.repeat(400)}.jpeg`);
    expect(name).toHaveLength(255);
    expect(name.endsWith('.jpeg')).toBe(true);
  });
});
