import type { EventData, EventOfType } from '../../schemas/events/index.js';

export type FileEvent = EventOfType<'FileUploaded' | 'FileTagged' | 'FileDeleted'>;

export type FileState =
  | { readonly status: 'absent' }
  | {
      readonly status: 'uploaded' | 'deleted';
      readonly upload: EventData<'FileUploaded'>;
      /** Current tags, sorted. */
      readonly tags: readonly string[];
      readonly deletion: { readonly reason: string; readonly deletedBy: string } | null;
    };

export const initialFileState = (): FileState => ({ status: 'absent' });

export function evolveFile(state: FileState, event: FileEvent): FileState {
  switch (event.type) {
    case 'FileUploaded':
      return { status: 'uploaded', upload: event.data, tags: [...event.data.tags].sort(), deletion: null };
    case 'FileTagged': {
      if (state.status === 'absent') return state;
      const tags = new Set(state.tags);
      for (const tag of event.data.added) tags.add(tag);
      for (const tag of event.data.removed) tags.delete(tag);
      return { ...state, tags: [...tags].sort() };
    }
    case 'FileDeleted':
      if (state.status === 'absent') return state;
      return {
        ...state,
        status: 'deleted',
        deletion: { reason: event.data.reason, deletedBy: event.data.deletedBy },
      };
    default:
      return state;
  }
}
