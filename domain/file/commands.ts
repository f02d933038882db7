import type { DeleteFile, TagFile, UploadFile } from '../../schemas/commands/file.js';
import type { Command } from '../decider.js';

export type UploadFileCommand = Command<'UploadFile', UploadFile>;
export type TagFileCommand = Command<'TagFile', TagFile>;
export type DeleteFileCommand = Command<'DeleteFile', DeleteFile>;
export type FileCommand = UploadFileCommand | TagFileCommand | DeleteFileCommand;
