import type { Decider } from '../decider.js';
import type { FileCommand } from './commands.js';
import { decideFile } from './decide.js';
import { evolveFile, type FileEvent, type FileState, initialFileState } from './state.js';

export const fileDecider: Decider<FileCommand, FileState, FileEvent> = {
  decide: decideFile,
  evolve: evolveFile,
  initialState: initialFileState,
};

export type * from './commands.js';
export { MAX_TAGS_PER_FILE } from './decide.js';
export { sanitizeFileName } from './sanitize-file-name.js';
export type { FileEvent, FileState } from './state.js';
