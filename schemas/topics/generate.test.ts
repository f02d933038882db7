import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { type EventType, eventDefinitions } from '../events/index.js';
import { topicCatalogue } from './catalogue.js';
import { topicMessageSchema } from './envelope.js';
import { exampleMessage, renderAll } from './generate.js';

const repoRoot = new URL('../../', import.meta.url);

describe('generated topic contract', () => {
  it('is committed and up to date (run: node --import tsx schemas/topics/generate.ts)', async () => {
    const rendered = renderAll();
    expect([...rendered.keys()].sort()).toEqual([
      'docs/topics.md',
      'schemas/topics/chitti.acceptance-profiles.schema.json',
      'schemas/topics/chitti.access.schema.json',
      'schemas/topics/chitti.files.schema.json',
      'schemas/topics/chitti.inspections.schema.json',
      'schemas/topics/chitti.models.schema.json',
      'schemas/topics/chitti.users.schema.json',
    ]);
    for (const [path, content] of rendered) {
      const committed = await readFile(new URL(path, repoRoot), 'utf8');
      // JSON layout belongs to the formatter; its content must match exactly.
      if (path.endsWith('.json')) expect(JSON.parse(committed), path).toEqual(JSON.parse(content));
      else expect(committed, path).toBe(content);
    }
  });

  it('names every event type at its current version in its topic schema, with a valid example', () => {
    for (const [index, topic] of topicCatalogue.entries()) {
      const schema = JSON.parse(renderAll().get(`schemas/topics/chitti.${topic.name}.schema.json`) ?? '{}');
      const types = (schema.oneOf as { properties: { type: { const: string } } }[]).map((b) => b.properties.type.const);
      expect(types).toEqual(topic.eventTypes.map((t) => `chitti.${t}.v${eventDefinitions[t].version}`));
      for (const eventType of topic.eventTypes) {
        expect(topicMessageSchema(topic).safeParse(exampleMessage(eventType as EventType, index)).success).toBe(true);
      }
    }
  });

  it('rejects a message whose data does not match its type', () => {
    const inspections = topicCatalogue.find((t) => t.name === 'inspections');
    if (!inspections) throw new Error('no inspections topic');
    const message = exampleMessage('InspectionClosed', 0);
    const wrong = { ...message, data: { ...(message.data as object), outcome: 'maybe' } };
    expect(topicMessageSchema(inspections).safeParse(wrong).success).toBe(false);
    const foreign = exampleMessage('FileTagged', 0);
    expect(topicMessageSchema(inspections).safeParse(foreign).success).toBe(false);
  });
});
