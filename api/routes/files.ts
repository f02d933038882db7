import { v7 as uuidv7 } from 'uuid';
import { idOf, streamIdOf } from '../../schemas/events/index.js';
import type { ApiDependencies, ResolvedApiOptions } from '../dependencies.js';
import { HttpProblem, notFound } from '../http/problem.js';
import { route } from '../http/route.js';
import {
  AsOfState,
  CommandAccepted,
  DeleteFileQuery,
  FileParams,
  GetQuery,
  ListFilesQuery,
  ReadModelObject,
  ReadModelPage,
  TagFileBody,
  UploadedFile,
  UploadQuery,
} from '../schemas.js';
import { sanitizeFileName } from '../uploads/file-name.js';
import { validateImage } from '../uploads/validate-image.js';
import { asOfReply, commandContext, commandReply, describeAsOf, etag, readModelReply } from './helpers.js';

export const IMAGE_UPLOAD_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/tiff', 'application/octet-stream'];

export const fileRoutes = (deps: ApiDependencies, options: ResolvedApiOptions) => [
  route({
    method: 'post',
    path: '/v1/files',
    operationId: 'uploadFile',
    summary: 'Upload an image (raw body); validated by magic bytes and decoded dimensions',
    description:
      'The type is taken from the bytes, not the Content-Type; a declared image type must agree. ' +
      'Decompression bombs (more pixels than the limit) and truncated or corrupt images are refused. ' +
      'The bytes are stored content-addressed; the file name is a label only.',
    tag: 'files',
    permission: 'files:write',
    query: UploadQuery,
    headers: [{ name: 'X-File-Name', description: 'Original file name (percent-encoded UTF-8 allowed)' }],
    body: {
      kind: 'binary',
      mediaTypes: IMAGE_UPLOAD_TYPES,
      maxBytes: options.maxUploadBytes,
      description: 'PNG, JPEG, WebP or TIFF (8 or 16 bit) image bytes',
    },
    responses: {
      201: { description: 'Stored; FileUploaded recorded', schema: UploadedFile },
      413: { description: 'Body larger than the upload limit' },
      415: { description: 'Not a PNG, JPEG, WebP or TIFF image, or an unsupported sample format' },
      422: { description: 'Corrupt or truncated image, too many pixels, or content not matching its declared type' },
    },
    handle: async (input) => {
      const bytes = input.body as Buffer;
      const declared = input.req.get('content-type')?.split(';')[0]?.trim().toLowerCase();
      const image = await validateImage(bytes, { declaredType: declared, maxPixels: options.maxImagePixels });
      const extension = image.mediaType.slice('image/'.length);
      const originalName = sanitizeFileName(input.query.name ?? input.req.get('x-file-name'), `upload.${extension}`);
      const stored = await deps.blobs.put(bytes);
      const fileId = uuidv7();
      const tags = input.query.tags ?? [];
      const upload = { fileId, sha256: stored.sha256, sizeBytes: stored.sizeBytes, ...image, originalName, tags };
      const result = await deps.commands.uploadFile(upload, commandContext(input));
      // A deleted file's eraser may have removed these bytes between put and append: put them back.
      if (!(await deps.blobs.has(stored.sha256))) await deps.blobs.put(bytes);
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
    responses: { 200: { description: 'A page of files', schema: ReadModelPage } },
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
      200: { description: 'The file (ETag = stream version)', schema: ReadModelObject.or(AsOfState) },
      404: { description: 'No such file' },
    },
    handle: async ({ params, query }) =>
      query.asOf
        ? asOfReply(deps.history, streamIdOf('file', params.fileId), query.asOf)
        : readModelReply(
            deps.history,
            streamIdOf('file', params.fileId),
            await deps.queries.getFile(params.fileId),
            `file ${params.fileId}`,
          ),
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
      const file = (await deps.queries.getFile(params.fileId)) as {
        sha256?: unknown;
        mediaType?: unknown;
        deleted?: unknown;
      } | null;
      if (!file || typeof file.sha256 !== 'string') throw notFound(`file ${params.fileId} not found`);
      if (file.deleted === true) {
        throw new HttpProblem({ status: 410, slug: 'file-deleted', title: 'Gone', detail: 'the file was deleted' });
      }
      const bytes = await deps.blobs.get(file.sha256);
      if (!bytes)
        throw new HttpProblem({ status: 410, slug: 'blob-erased', title: 'Gone', detail: 'the bytes are erased' });
      res.status(200);
      res.setHeader('Content-Type', typeof file.mediaType === 'string' ? file.mediaType : 'application/octet-stream');
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
