import { describe, expect, it } from 'vitest';
import {
  currentTopicSchemas,
  currentVersions,
  fromTopicSchemas,
  incompatibilities,
  readReleased,
  type SchemaSet,
  type Versions,
} from './compatibility.js';

const clone = <T>(value: T): T => structuredClone(value);
type Schema = { properties: Record<string, unknown>; required: string[] };

describe('schema evolution against the released set (schemas/released, refreshed by npm run schemas:release)', () => {
  it("today's event and topic schemas are compatible with the last release", async () => {
    const problems = incompatibilities(
      await readReleased(),
      fromTopicSchemas(currentTopicSchemas()),
      currentVersions(),
    );
    expect(problems).toEqual([]);
  });

  describe('the rule', () => {
    let releasedSet: SchemaSet;
    let versions: Versions;
    const setup = async () => {
      releasedSet = await readReleased();
      versions = currentVersions();
      return fromTopicSchemas(currentTopicSchemas());
    };

    it('fails a field added to a released version, as ModelRegistered v1 once gained thresholds', async () => {
      const current = await setup();
      // ModelRegistered as it was before v2: today's shape under the released v1.
      const asV1 = clone(current);
      asV1.events.ModelRegistered = { '1': current.events.ModelRegistered!['2']! };
      // The release before v2 existed.
      const beforeV2 = clone(releasedSet);
      delete beforeV2.events.ModelRegistered!['2'];
      const problems = incompatibilities(beforeV2, asV1, {
        ...versions,
        ModelRegistered: { current: 1, upcastsFrom: [] },
      });
      expect(problems).toEqual([
        expect.stringMatching(/^ModelRegistered v1 changed since its release: give .* version 2/),
      ]);
    });

    it('passes the same change as a new version with an upcaster, fails it without the upcaster', async () => {
      const current = await setup();
      const bumped = clone(current);
      const v1 = clone(bumped.events.FileTagged!['1']!) as Schema;
      v1.properties.reason = { type: 'string' };
      v1.required.push('reason');
      bumped.events.FileTagged = { '2': v1 };
      const withUpcaster = { ...versions, FileTagged: { current: 2, upcastsFrom: [1] } };
      expect(incompatibilities(releasedSet, bumped, withUpcaster)).toEqual([]);
      const withoutUpcaster = { ...versions, FileTagged: { current: 2, upcastsFrom: [] } };
      expect(incompatibilities(releasedSet, bumped, withoutUpcaster)).toEqual([
        'FileTagged has no upcaster from released v1',
      ]);
    });

    it('fails a removed field, a removed type, a version that went back and a type that moved topic', async () => {
      const current = await setup();
      const changed = clone(current);
      delete (changed.events.FileDeleted!['1'] as Schema).properties.reason;
      const { AccessRecorded: _gone, ...rest } = versions;
      const back = { ...rest, InspectionRequested: { current: 1, upcastsFrom: [] } };
      changed.topics['chitti.files']!.eventTypes = ['FileUploaded', 'FileDeleted'];
      const problems = incompatibilities(releasedSet, changed, back);
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^FileDeleted v1 changed since its release/),
          'AccessRecorded was released and is gone: stored events and consumers still have it',
          'InspectionRequested v2 was released but the current version is v1',
          'FileTagged left topic chitti.files, where consumers read it',
        ]),
      );
    });

    it('lets the envelope gain optional attributes, not change, drop or require one', async () => {
      const current = await setup();
      const added = clone(current);
      added.topics['chitti.models']!.envelope.partitionkey = { type: 'string' };
      expect(incompatibilities(releasedSet, added, versions)).toEqual([]);
      const required = clone(added);
      required.topics['chitti.models']!.required.push('partitionkey');
      delete required.topics['chitti.models']!.envelope.actor;
      expect(incompatibilities(releasedSet, required, versions)).toEqual([
        "envelope attribute 'actor' of chitti.models was removed or changed",
        "envelope attribute 'partitionkey' of chitti.models became required; old messages lack it",
      ]);
    });

    it('ignores annotations: a reworded description is no change', async () => {
      const current = await setup();
      const reworded = clone(current);
      (reworded.events.FileDeleted!['1'] as { description?: string }).description = 'reworded';
      expect(incompatibilities(releasedSet, reworded, versions)).toEqual([]);
    });
  });
});
