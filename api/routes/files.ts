import { v7 as uuidv7 } from 'uuid';
import { idOf, type PixelSpacingMm, streamIdOf } from '../../schemas/events/index.js';
import type { ApiDependencies, ResolvedApiOptions } from '../dependencies.js';
import { HttpProblem, notFound } from '../http/problem.js';
import { route } from '../http/route.js';
import {
  AsOfState,
  CommandAccepted,
  DeleteFileQuery,
  FileParams,
  FileRow,
  GetQuery,
  ListFilesQuery,
  PageOf,
  TagFileBody,
  UploadedFile,
  UploadQuery,
} from '../schemas.js';
import { sanitizeFileName } from '../uploads/file-name.js';
import { fileIdOfDicomInstance } from '../uploads/validate-dicom.js';
import { validateImage } from '../uploads/validate-image.js';
import { asOfReply, commandContext, commandReply, describeAsOf, etag, readerOf, readModelReply } from './helpers.js';

export const IMAGE_UPLOAD_TYPES = [
  'image/png',
  'image/jpeg',
  'image/webp',
  'image/tiff',
  'application/dicom',
  'application/octet-stream',
];

export const fileRoutes = (deps: ApiDependencies, options: ResolvedApiOptions) => [
  route({
    method: 'post',
    path: '/v1/files',
    operationId: 'uploadFile',
    summary: 'Upload an image or DICOM file (raw body); validated by magic bytes and decoded dimensions',
    description:
      'The type is taken from the bytes, not the Content-Type; a declared image type must agree. ' +
      'Decompression bombs (more pixels than the limit) and truncated or corrupt images are refused. ' +
      'The bytes are stored content-addressed; the file name is a label only. ' +
      'A DICOM file gets an id derived from its SOP Instance UID: the same instance sent again answers 200 with ' +
      'the file recorded first (`existing: true`), or 409 naming that file when the bytes differ.',
    tag: 'files',
    permission: 'files:write',
    query: UploadQuery,
    headers: [{ name: 'X-File-Name', description: 'Original file name (percent-encoded UTF-8 allowed)' }],
    body: {
      kind: 'binary',
      mediaTypes: IMAGE_UPLOAD_TYPES,
      maxBytes: options.maxUploadBytes,
      description: 'PNG, JPEG, WebP or TIFF (8 or 16 bit) image bytes, or an uncompressed greyscale DICOM Part 10 file',
    },
    responses: {
      200: {
        description: 'This DICOM instance was uploaded before with the same bytes: that file',
        schema: UploadedFile,
      },
      201: { description: 'Stored; FileUploaded recorded', schema: UploadedFile },
      409: { description: 'This DICOM instance (SOP Instance UID) was uploaded before with other bytes' },
      413: { description: 'Body larger than the upload limit' },
      415: {
        description:
          'Not a PNG, JPEG, WebP, TIFF or DICOM image, an unsupported sample format, a compressed DICOM transfer syntax, multi-frame DICOM, or a DICOM object without an image',
      },
      422: {
        description:
          'Corrupt or truncated image, too many pixels, content not matching its declared type, or a pixel spacing contradicting the DICOM header',
      },
    },
    handle: async (input) => {
      const bytes = input.body as Buffer;
      const declared = input.req.get('content-type')?.split(';')[0]?.trim().toLowerCase();
      const {
        dicom,
        pixelSpacingMm: headerSpacing,
        ...image
      } = await validateImage(bytes, {
        declaredType: declared,
        maxPixels: options.maxImagePixels,
        validator: deps.imageValidator,
      });
      const pixelSpacingMm = agreedSpacing(headerSpacing ?? undefined, input.query.pixelSpacingMm);
      const extension = image.mediaType === 'application/dicom' ? 'dcm' : image.mediaType.slice('image/'.length);
      const originalName = sanitizeFileName(input.query.name ?? input.req.get('x-file-name'), `upload.${extension}`);
      const stored = await deps.blobs.put(bytes);
      const fileId = dicom ? fileIdOfDicomInstance(dicom.sopInstanceUid) : uuidv7();
      const tags = input.query.tags ?? [];
      const upload = {
        fileId,
        sha256: stored.sha256,
        sizeBytes: stored.sizeBytes,
        ...image,
        originalName,
        tags,
        ...(pixelSpacingMm ? { pixelSpacingMm } : {}),
        ...(dicom ? { dicom } : {}),
      };
      const result = await deps.commands.uploadFile(upload, commandContext(input));
      // A deleted file's eraser may have removed these bytes between put and append: put them back.
      if (!(await deps.blobs.has(stored.sha256))) await deps.blobs.put(bytes);
      if (result.events.length === 0 && !result.duplicate) {
        // The same DICOM instance with the same bytes was uploaded before: answer with that file.
        const existing = (await deps.history.load(result.streamId))?.state as { upload?: typeof upload } | undefined;
        const { uploadedBy: _by, ...recorded } = (existing?.upload ?? upload) as typeof upload & {
          uploadedBy?: string;
        };
        return {
          status: 200,
          headers: { Location: `/v1/files/${fileId}`, ETag: etag(result.nextExpectedVersion) },
          body: { ...recorded, existing: true, streamVersion: result.nextExpectedVersion },
        };
      }
      // Answer with what was recorded (the decider has the last word on e.g. the name). A retry of an
      // upload that was committed before its answer was lost gets the first file, not this new id.
      const { uploadedBy: _actor, ...recorded } = (result.events[0]?.data ?? upload) as typeof upload & {
        uploadedBy?: string;
      };
      return {
        status: 201,
        headers: { Location: `/v1/files/${idOf(result.streamId)}`, ETag: etag(result.nextExpectedVersion) },
        body: { ...recorded, streamVersion: result.nextExpectedVersion },
      };
    },
  }),
  route({
    method: 'get',
    path: '/v1/files',
    operationId: 'listFiles',
    summary: 'List files (newest first)',
    tag: 'files',
    permission: 'files:read',
    query: ListFilesQuery,
    responses: { 200: { description: 'A page of files', schema: PageOf(FileRow) } },
    handle: async ({ query }) => ({ status: 200, body: await deps.queries.listFiles(query) }),
  }),
  route({
    method: 'get',
    path: '/v1/files/:fileId',
    operationId: 'getFile',
    summary: 'A file; with ?asOf= (auditors) the file as it was then',
    tag: 'files',
    permission: 'files:read',
    params: FileParams,
    query: GetQuery,
    sensitive: ({ params, query }) =>
      query.asOf
        ? {
            action: 'aggregate.as-of',
            resource: `file-${params.fileId}?${describeAsOf(query.asOf)}`,
            permission: 'history:as-of',
          }
        : undefined,
    responses: {
      200: { description: 'The file (ETag = stream version)', schema: FileRow.or(AsOfState) },
      404: { description: 'No such file' },
    },
    handle: async (input) => {
      const { params, query } = input;
      return query.asOf
        ? asOfReply(deps.history, readerOf(input), streamIdOf('file', params.fileId), query.asOf)
        : readModelReply(
            deps.history,
            streamIdOf('file', params.fileId),
            await deps.queries.getFile(params.fileId),
            `file ${params.fileId}`,
          );
    },
  }),
  route({
    method: 'get',
    path: '/v1/files/:fileId/content',
    operationId: 'getFileContent',
    summary: 'The stored image bytes (gone once the file is deleted)',
    tag: 'files',
    permission: 'files:read',
    params: FileParams,
    responses: {
      200: { description: 'The image', contentType: 'application/octet-stream' },
      404: { description: 'No such file' },
      410: { description: 'The file was deleted; its bytes are erased' },
    },
    handle: async ({ params, res }) => {
      const file = await deps.queries.getFile(params.fileId);
      if (!file) throw notFound(`file ${params.fileId} not found`);
      if (file.deleted) {
        throw new HttpProblem({ status: 410, slug: 'file-deleted', title: 'Gone', detail: 'the file was deleted' });
      }
      const bytes = await deps.blobs.get(file.sha256);
      if (!bytes)
        throw new HttpProblem({ status: 410, slug: 'blob-erased', title: 'Gone', detail: 'the bytes are erased' });
      res.status(200);
      res.setHeader('Content-Type', file.mediaType);
      res.setHeader('ETag', `"sha256:${file.sha256}"`);
      res.setHeader('Cache-Control', 'private, max-age=31536000, immutable');
      res.end(bytes);
      return undefined;
    },
  }),
  route({
    method: 'post',
    path: '/v1/files/:fileId/tags',
    operationId: 'tagFile',
    summary: 'Add and/or remove tags',
    tag: 'files',
    permission: 'files:write',
    conditional: true,
    params: FileParams,
    body: { kind: 'json', schema: TagFileBody },
    responses: {
      200: { description: 'FileTagged recorded', schema: CommandAccepted },
      404: { description: 'No such file' },
    },
    handle: async (input) =>
      commandReply(
        await deps.commands.tagFile(
          { fileId: input.params.fileId, add: input.body.add, remove: input.body.remove },
          commandContext(input),
        ),
      ),
  }),
  route({
    method: 'delete',
    path: '/v1/files/:fileId',
    operationId: 'deleteFile',
    summary: 'Erase a file’s bytes; the history keeps a tombstone',
    tag: 'files',
    permission: 'files:delete',
    conditional: true,
    params: FileParams,
    query: DeleteFileQuery,
    responses: {
      200: { description: 'FileDeleted recorded', schema: CommandAccepted },
      404: { description: 'No such file' },
    },
    handle: async (input) =>
      commandReply(
        await deps.commands.deleteFile(
          { fileId: input.params.fileId, reason: input.query.reason },
          commandContext(input),
        ),
      ),
  }),
];

/** The spacing to record: the DICOM header's, or the upload parameter's; the two must agree when both are given. */
function agreedSpacing(
  header: PixelSpacingMm | undefined,
  given: PixelSpacingMm | undefined,
): PixelSpacingMm | undefined {
  if (header && given && (Math.abs(header.row - given.row) > 1e-9 || Math.abs(header.column - given.column) > 1e-9)) {
    throw new HttpProblem({
      status: 422,
      slug: 'pixel-spacing-conflict',
      title: 'Pixel spacing contradicts the file',
      detail: `pixelSpacingMm=${given.row},${given.column} but the DICOM header gives ${header.row},${header.column}`,
    });
  }
  return header ?? given;
}
