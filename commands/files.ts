import type { z } from 'zod';
import { type FileState, fileDecider } from '../domain/file/index.js';
import { DeleteFile, TagFile, UploadFile } from '../schemas/commands/file.js';
import { streamIdOf } from '../schemas/events/index.js';
import type { CommandResult } from './command-result.js';
import type { CommandContext } from './context.js';
import type { CommandDeps } from './deps.js';
import { handleCommand } from './handle-command.js';
import { type LoadedAggregate, loadAggregate, type PointInTime } from './load-aggregate.js';
import { parseInput } from './parse-input.js';

export const fileStreamId = (fileId: string): string => streamIdOf('file', fileId);

export async function uploadFile(
  deps: CommandDeps,
  input: z.input<typeof UploadFile>,
  ctx: CommandContext,
): Promise<CommandResult> {
  const data = parseInput('UploadFile', UploadFile, input);
  return handleCommand(
    deps,
    fileDecider,
    fileStreamId(data.fileId),
    { type: 'UploadFile', data, actor: ctx.actor },
    ctx,
  );
}

export async function tagFile(
  deps: CommandDeps,
  input: z.input<typeof TagFile>,
  ctx: CommandContext,
): Promise<CommandResult> {
  const data = parseInput('TagFile', TagFile, input);
  return handleCommand(deps, fileDecider, fileStreamId(data.fileId), { type: 'TagFile', data, actor: ctx.actor }, ctx);
}

export async function deleteFile(
  deps: CommandDeps,
  input: z.input<typeof DeleteFile>,
  ctx: CommandContext,
): Promise<CommandResult> {
  const data = parseInput('DeleteFile', DeleteFile, input);
  return handleCommand(
    deps,
    fileDecider,
    fileStreamId(data.fileId),
    { type: 'DeleteFile', data, actor: ctx.actor },
    ctx,
  );
}

export function loadFile(deps: CommandDeps, fileId: string, at: PointInTime = {}): Promise<LoadedAggregate<FileState>> {
  return loadAggregate(deps.store, fileDecider, fileStreamId(fileId), at);
}
