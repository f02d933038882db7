import type { z } from 'zod';
import { type FileState, fileDecider } from '../domain/file/index.js';
import { DeleteFile, TagFile, UploadFile } from '../schemas/commands/file.js';
import { type PixelSpacingMm, streamIdOf } from '../schemas/events/index.js';
import type { CommandContext } from './context.js';
import type { CommandDeps } from './deps.js';
import { type LoadedAggregate, loadAggregate, type PointInTime } from './load-aggregate.js';
import { simpleCommands } from './simple-commands.js';

export const fileStreamId = (fileId: string): string => streamIdOf('file', fileId);

const run = simpleCommands(
  fileDecider,
  { UploadFile, TagFile, DeleteFile },
  (data: { fileId: string }) => fileStreamId(data.fileId),
  { commutative: ['TagFile'] },
);

export const uploadFile = (deps: CommandDeps, input: z.input<typeof UploadFile>, ctx: CommandContext) =>
  run('UploadFile', deps, input, ctx);
export const tagFile = (deps: CommandDeps, input: z.input<typeof TagFile>, ctx: CommandContext) =>
  run('TagFile', deps, input, ctx);
export const deleteFile = (deps: CommandDeps, input: z.input<typeof DeleteFile>, ctx: CommandContext) =>
  run('DeleteFile', deps, input, ctx);

export function loadFile(deps: CommandDeps, fileId: string, at: PointInTime = {}): Promise<LoadedAggregate<FileState>> {
  return loadAggregate(deps.store, fileDecider, fileStreamId(fileId), at, deps.states);
}

/** The pixel spacing the file's upload recorded; undefined when unknown or when there is no such file. */
export async function filePixelSpacing(deps: CommandDeps, fileId: string): Promise<PixelSpacingMm | undefined> {
  const { state } = await loadFile(deps, fileId);
  return state.status === 'absent' ? undefined : state.upload.pixelSpacingMm;
}
