import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  maySeeSummaryOf,
  outwardEvent,
  outwardRow,
  outwardState,
  type Reader,
  streamPermission,
} from '../../api/disclosure.js';
import { can, eventCategories, type FieldRule, restrictedFields } from '../../api/rbac.js';
import {
  categoryOf,
  eventDefinitions,
  type RecordedEvent,
  Role,
  streamCategories,
} from '../../schemas/events/index.js';
import { eventExamples } from '../../schemas/topics/examples.js';

const roles = Role.options;
const categories = Object.entries(eventCategories);

describe('the event category table (rbac.ts)', () => {
  it('puts every registered event type in exactly one category, and names only registered types', () => {
    const listed = categories.flatMap(([, c]) => c.types as readonly string[]);
    expect([...listed].sort()).toEqual(Object.keys(eventDefinitions).sort());
    expect(new Set(listed).size).toBe(listed.length);
  });

  it('gives each category one stream category, the one its events are appended to', () => {
    const streams = categories.map(([, c]) => c.stream);
    expect([...streams].sort()).toEqual([...streamCategories].sort());
    for (const [name, category] of categories) {
      for (const type of category.types) {
        expect(categoryOf(eventExamples[type].streamId), `${name}: ${type}`).toBe(category.stream);
      }
    }
  });

  it('restricts only fields that exist, in subjects that exist', () => {
    for (const field of restrictedFields) {
      const [kind, name] = field.in.split(':') as [string, string];
      expect(['event', 'state', 'row']).toContain(kind);
      if (kind === 'event') {
        const shape = (eventDefinitions[name as keyof typeof eventDefinitions].schema as { shape: object }).shape;
        expect(Object.keys(shape), field.in).toContain(field.path.split('.')[0]);
      }
      if (kind === 'state') expect(streamCategories as readonly string[]).toContain(name);
    }
  });
});

const stored = (
  type: string,
  data: unknown,
  streamId = eventExamples[type as 'FileUploaded'].streamId,
): RecordedEvent => ({
  globalPosition: 7,
  streamId,
  streamVersion: 1,
  eventId: '0193a5c2-7f10-7a3b-9c1d-000000000007',
  type,
  schemaVersion: 1,
  data,
  metadata: { actor: 'user-1' },
  recordedAt: new Date('2026-11-23T09:00:00Z'),
  hash: 'a'.repeat(64),
});

describe('the one redaction', () => {
  const issued = stored('ApiKeyIssued', eventExamples.ApiKeyIssued.data);
  const hash = (eventExamples.ApiKeyIssued.data as { secretSha256: string }).secretSha256;

  it('keeps secret hashes out of every event, even an admin’s, unless a raw export is asked for', () => {
    const admin: Reader = { roles: ['admin'] };
    expect(JSON.stringify(outwardEvent(admin, issued))).not.toContain(hash);
    expect(outwardEvent(admin, issued)?.redacted).toEqual(['data.secretSha256']);
    expect(JSON.stringify(outwardEvent({ roles: ['auditor'], raw: true }, issued))).not.toContain(hash);
    expect(outwardEvent({ roles: ['admin'], raw: true }, issued)?.data).toMatchObject({ secretSha256: hash });
    expect(outwardEvent({ roles: ['admin'], raw: true }, issued)).not.toHaveProperty('redacted');
  });

  it('hides whole categories, and event types no category lists', () => {
    expect(outwardEvent({ roles: ['operator'] }, issued)).toBeUndefined();
    expect(outwardEvent({ roles: ['admin'] }, stored('InspectionTeleported', {}, 'inspection-1'))).toBeUndefined();
    expect(outwardEvent({ roles: ['viewer'] }, stored('FileUploaded', eventExamples.FileUploaded.data))).toMatchObject({
      type: 'FileUploaded',
    });
  });

  it('removes the same secrets from folded users and worker identity from rows and events', () => {
    const state = {
      status: 'registered',
      apiKeys: { k1: { secretSha256: hash, label: 'l' }, k2: { secretSha256: hash } },
    };
    expect(outwardState({ roles: ['auditor'] }, 'user-1', state)).toEqual({
      status: 'registered',
      apiKeys: { k1: { label: 'l' }, k2: {} },
    });
    expect(state.apiKeys.k1.secretSha256).toBe(hash); // a copy: the input is untouched
    expect(outwardRow({ roles: ['viewer'] }, 'inspection', { inspectionId: 'i', worker: 'h:1' })).toEqual({
      inspectionId: 'i',
    });
    expect(outwardRow({ roles: ['operator'] }, 'inspection', { inspectionId: 'i', worker: 'h:1' })).toEqual({
      inspectionId: 'i',
      worker: 'h:1',
    });
    const started = stored('InferenceStarted', { inspectionId: 'i', attempt: 1, worker: 'h:1' });
    expect(outwardEvent({ roles: ['reviewer'] }, started)?.data).toEqual({ inspectionId: 'i', attempt: 1 });
  });

  it('shows a summary only to whoever may read the whole event it was built from', () => {
    expect(maySeeSummaryOf({ roles: ['reviewer'] }, 'DetectionReviewed')).toBe(true);
    expect(maySeeSummaryOf({ roles: ['reviewer'] }, 'InferenceStarted')).toBe(false);
    expect(maySeeSummaryOf({ roles: ['auditor'] }, 'InferenceStarted')).toBe(true);
    expect(maySeeSummaryOf({ roles: ['auditor'] }, 'ApiKeyIssued')).toBe(true); // summaries carry no secrets
    expect(maySeeSummaryOf({ roles: ['viewer'] }, 'UserRegistered')).toBe(false);
    expect(streamPermission('user-1')).toBe('users:read');
    expect(streamPermission('access-2026-11-23')).toBe('audit:read');
  });
});

/** The "Who can read what" table of api/README.md, rendered from rbac.ts. */
function renderReadTable(): string {
  const mark = (ok: boolean) => (ok ? 'yes' : '–');
  const ruleText = (rule: FieldRule) => (rule === 'secret' ? 'raw export with audit:export-raw' : rule);
  const header = `| what | permission | ${roles.join(' | ')} |`;
  const rule = `|---|---|${roles.map(() => '---|').join('')}`;
  const rows = categories.map(
    ([name, c]) =>
      `| ${name} events (${c.types.join(', ')}) | ${c.permission} | ${roles.map((r) => mark(can([r], c.permission))).join(' | ')} |`,
  );
  const byRule = new Map<FieldRule, string[]>();
  for (const field of restrictedFields)
    byRule.set(field.rule, [...(byRule.get(field.rule) ?? []), `\`${field.in} ${field.path}\``]);
  for (const [fieldRule, fields] of byRule) {
    const allowed = (r: (typeof roles)[number]) =>
      fieldRule === 'secret' ? can([r], 'audit:export-raw') : can([r], fieldRule);
    rows.push(
      `| fields ${fields.join(', ')} | ${ruleText(fieldRule)} | ${roles.map((r) => mark(allowed(r))).join(' | ')} |`,
    );
  }
  return [header, rule, ...rows].join('\n');
}

describe('api/README.md', () => {
  it('shows the table rbac.ts enforces in "Who can read what"', async () => {
    const readme = await readFile(new URL('../../api/README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('### Who can read what');
    expect(start, 'the section is missing').toBeGreaterThanOrEqual(0);
    const section = readme.slice(start);
    expect(section, `paste this table into api/README.md:\n${renderReadTable()}\n`).toContain(renderReadTable());
  });
});
