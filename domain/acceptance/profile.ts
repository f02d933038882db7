import { isDeepStrictEqual } from 'node:util';
import type {
  CreateAcceptanceProfile,
  RetireAcceptanceProfile,
  ReviseAcceptanceProfile,
} from '../../schemas/commands/acceptance.js';
import type { AcceptanceRule, EventOfType } from '../../schemas/events/index.js';
import type { Command, Decider } from '../decider.js';
import { DomainConflict, DomainRuleViolation, NotFound } from '../errors.js';

export type AcceptanceProfileEvent = EventOfType<
  'AcceptanceProfileCreated' | 'AcceptanceProfileRevised' | 'AcceptanceProfileRetired'
>;

export type AcceptanceProfileCommand =
  | Command<'CreateAcceptanceProfile', CreateAcceptanceProfile>
  | Command<'ReviseAcceptanceProfile', ReviseAcceptanceProfile>
  | Command<'RetireAcceptanceProfile', RetireAcceptanceProfile>;

export interface AcceptanceProfileState {
  readonly status: 'absent' | 'active' | 'retired';
  readonly profileId: string | null;
  readonly name: string;
  readonly description: string;
  readonly sample: boolean;
  /** revisions[n - 1] holds the rules of revision n; every revision stays readable. */
  readonly revisions: readonly (readonly AcceptanceRule[])[];
  readonly retirement: { readonly reason: string; readonly retiredBy: string } | null;
}

export const initialAcceptanceProfileState = (): AcceptanceProfileState => ({
  status: 'absent',
  profileId: null,
  name: '',
  description: '',
  sample: false,
  revisions: [],
  retirement: null,
});

// Key order is not meaning: stored payloads come back from jsonb with their keys reordered.
const sameRules = (a: readonly AcceptanceRule[], b: readonly AcceptanceRule[]) => isDeepStrictEqual(a, b);

export function decideAcceptanceProfile(
  command: AcceptanceProfileCommand,
  state: AcceptanceProfileState,
): AcceptanceProfileEvent[] {
  const { data, actor } = command;
  switch (command.type) {
    case 'CreateAcceptanceProfile': {
      const d = command.data;
      if (state.status !== 'absent') {
        const first = state.revisions[0]!;
        if (state.name === d.name && sameRules(first, d.rules) && state.sample === d.sample) return [];
        throw new DomainConflict('profile.already-exists', `acceptance profile '${d.profileId}' already exists`, {
          profileId: d.profileId,
        });
      }
      return [
        {
          type: 'AcceptanceProfileCreated',
          data: {
            profileId: d.profileId,
            name: d.name,
            description: d.description,
            sample: d.sample,
            rules: d.rules,
            createdBy: actor,
          },
        },
      ];
    }
    case 'ReviseAcceptanceProfile': {
      const d = command.data;
      requireActive(state, data.profileId);
      // The same rules as the latest revision: nothing to record (a retried request).
      if (sameRules(state.revisions.at(-1)!, d.rules)) return [];
      return [
        {
          type: 'AcceptanceProfileRevised',
          data: {
            profileId: d.profileId,
            revision: state.revisions.length + 1,
            rules: d.rules,
            note: d.note ?? null,
            revisedBy: actor,
          },
        },
      ];
    }
    case 'RetireAcceptanceProfile': {
      if (state.status === 'absent') throw new NotFound('acceptance-profile', data.profileId);
      if (state.status === 'retired') return [];
      return [
        {
          type: 'AcceptanceProfileRetired',
          data: { profileId: data.profileId, reason: command.data.reason, retiredBy: actor },
        },
      ];
    }
  }
}

function requireActive(state: AcceptanceProfileState, profileId: string) {
  if (state.status === 'absent') throw new NotFound('acceptance-profile', profileId);
  if (state.status === 'retired') {
    throw new DomainRuleViolation('profile.retired', `acceptance profile '${profileId}' is retired`, { profileId });
  }
}

export function evolveAcceptanceProfile(
  state: AcceptanceProfileState,
  event: AcceptanceProfileEvent,
): AcceptanceProfileState {
  switch (event.type) {
    case 'AcceptanceProfileCreated': {
      const { profileId, name, description, sample, rules } = event.data;
      return {
        ...initialAcceptanceProfileState(),
        status: 'active',
        profileId,
        name,
        description,
        sample,
        revisions: [rules],
      };
    }
    case 'AcceptanceProfileRevised':
      return { ...state, revisions: [...state.revisions, event.data.rules] };
    case 'AcceptanceProfileRetired':
      return {
        ...state,
        status: 'retired',
        retirement: { reason: event.data.reason, retiredBy: event.data.retiredBy },
      };
    default:
      return state;
  }
}

/**
 * The rules a new evaluation uses: the named revision, else the latest. A retired profile judges
 * nothing new; an unknown revision is not found.
 */
export function revisionForEvaluation(
  state: AcceptanceProfileState,
  profileId: string,
  revision: number | undefined,
): {
  readonly profileId: string;
  readonly name: string;
  readonly revision: number;
  readonly rules: readonly AcceptanceRule[];
} {
  requireActive(state, profileId);
  const chosen = revision ?? state.revisions.length;
  const rules = state.revisions[chosen - 1];
  if (!rules) throw new NotFound('acceptance-profile-revision', `${profileId}@${chosen}`);
  return { profileId, name: state.name, revision: chosen, rules };
}

export const acceptanceProfileDecider: Decider<
  AcceptanceProfileCommand,
  AcceptanceProfileState,
  AcceptanceProfileEvent
> = {
  decide: decideAcceptanceProfile,
  evolve: evolveAcceptanceProfile,
  initialState: initialAcceptanceProfileState,
};
