import { readdir, readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { eventDefinitions } from '../events/index.js';
import { parseCloudEventType, topicCatalogue, topicName } from '../topics/catalogue.js';
import { topicJsonSchema } from '../topics/generate.js';
import { DEFAULT_TOPIC_PREFIX } from '../topics/index.js';

type JsonSchema = Record<string, unknown>;

/**
 * A set of published schemas: every (event type, version) with the JSON Schema of its `data`,
 * and every topic with its event types and envelope attributes. The released set accumulates
 * versions (a topic carries only current ones, but stored events and old consumers know older).
 */
export interface SchemaSet {
  readonly events: Record<string, Record<string, JsonSchema>>;
  readonly topics: Record<string, { eventTypes: string[]; envelope: JsonSchema; required: string[] }>;
}

/** The current version of each event type and the versions it has upcasters from. */
export type Versions = Record<string, { current: number; upcastsFrom: number[] }>;

export const RELEASED_DIR = new URL('./', import.meta.url);
const EVENTS_FILE = new URL('events.json', RELEASED_DIR);
const TOPICS_DIR = new URL('topics/', RELEASED_DIR);

/** Keywords that document and do not change what validates. */
const ANNOTATIONS = new Set(['description', 'title', '$anchor', '$id', '$schema', 'examples']);

function withoutAnnotations(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutAnnotations);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !ANNOTATIONS.has(key))
      .map(([key, inner]) => [key, withoutAnnotations(inner)]),
  );
}

/** A published topic schema file read back into the set's shape. */
export function fromTopicSchemas(topicSchemas: Record<string, JsonSchema>): SchemaSet {
  const events: SchemaSet['events'] = {};
  const topics: SchemaSet['topics'] = {};
  for (const [topic, schema] of Object.entries(topicSchemas)) {
    const branches = schema.oneOf as { properties: Record<string, JsonSchema>; required: string[] }[];
    const eventTypes: string[] = [];
    let envelope: JsonSchema = {};
    let required: string[] = [];
    for (const branch of branches) {
      const parsed = parseCloudEventType(String(branch.properties.type?.const));
      if (!parsed) throw new Error(`${topic}: a branch without a chitti type`);
      eventTypes.push(parsed.eventType);
      const byVersion = events[parsed.eventType] ?? {};
      byVersion[String(parsed.version)] = branch.properties.data as JsonSchema;
      events[parsed.eventType] = byVersion;
      // The envelope: every attribute but the two that vary per type.
      const { type: _type, data: _data, dataschema: _dataschema, ...attributes } = branch.properties;
      envelope = attributes;
      required = branch.required.filter((name) => name !== 'type' && name !== 'data');
    }
    topics[topic] = { eventTypes, envelope, required };
  }
  return { events, topics };
}

/** Today's schemas, generated from the event catalogue the way the published files are. */
export function currentTopicSchemas(): Record<string, JsonSchema> {
  return Object.fromEntries(topicCatalogue.map((t) => [topicName(DEFAULT_TOPIC_PREFIX, t), topicJsonSchema(t)]));
}

export function currentVersions(): Versions {
  return Object.fromEntries(
    Object.values(eventDefinitions).map((d) => [
      d.type,
      { current: d.version, upcastsFrom: Object.keys(d.upcasters).map(Number) },
    ]),
  );
}

export async function readReleased(): Promise<SchemaSet> {
  const topicSchemas: Record<string, JsonSchema> = {};
  for (const file of await readdir(TOPICS_DIR)) {
    if (!file.endsWith('.schema.json')) continue;
    topicSchemas[file.replace(/\.schema\.json$/, '')] = JSON.parse(await readFile(new URL(file, TOPICS_DIR), 'utf8'));
  }
  const fromTopics = fromTopicSchemas(topicSchemas);
  const history = JSON.parse(await readFile(EVENTS_FILE, 'utf8')) as SchemaSet['events'];
  return { events: released(history, fromTopics), topics: fromTopics.topics };
}

/** The released set after a release of today's schemas: older versions kept, current ones added. */
export function released(previous: SchemaSet['events'], current: SchemaSet): SchemaSet['events'] {
  const events: SchemaSet['events'] = {};
  for (const type of new Set([...Object.keys(previous), ...Object.keys(current.events)]))
    events[type] = { ...previous[type], ...current.events[type] };
  return events;
}

export { EVENTS_FILE, TOPICS_DIR };

/**
 * Why `current` breaks consumers of `released`, one sentence each (empty: compatible).
 *
 * A released (type, version) is frozen: its data schema may change only in annotations, because
 * the published schemas reject unknown fields (a consumer validating with them would reject an
 * added optional field, as happened with ModelRegistered v1's `thresholds`) and consumers may
 * rely on every field. Any change of shape is a new version, with an upcaster from the old one,
 * which consumers see as a new CloudEvents `type`. The envelope may gain optional attributes
 * (consumers must ignore unknown ones), never lose or change one or require a new one.
 */
export function incompatibilities(releasedSet: SchemaSet, current: SchemaSet, versions: Versions): string[] {
  const problems: string[] = [];
  for (const [type, byVersion] of Object.entries(releasedSet.events)) {
    const now = versions[type];
    if (!now) {
      problems.push(`${type} was released and is gone: stored events and consumers still have it`);
      continue;
    }
    for (const [versionText, schema] of Object.entries(byVersion)) {
      const version = Number(versionText);
      if (version > now.current) {
        problems.push(`${type} v${version} was released but the current version is v${now.current}`);
      } else if (version === now.current) {
        const currentSchema = current.events[type]?.[versionText];
        if (!isDeepStrictEqual(withoutAnnotations(currentSchema), withoutAnnotations(schema)))
          problems.push(
            `${type} v${version} changed since its release: give the new shape version ${version + 1} with an ` +
              `upcaster from v${version} (schemas/events), then regenerate the topic schemas`,
          );
      } else {
        for (let v = version; v < now.current; v++)
          if (!now.upcastsFrom.includes(v)) problems.push(`${type} has no upcaster from released v${v}`);
      }
    }
  }
  for (const [topic, was] of Object.entries(releasedSet.topics)) {
    const now = current.topics[topic];
    if (!now) {
      problems.push(`topic ${topic} was released and is gone`);
      continue;
    }
    for (const type of was.eventTypes)
      if (!now.eventTypes.includes(type)) problems.push(`${type} left topic ${topic}, where consumers read it`);
    for (const [attribute, schema] of Object.entries(was.envelope))
      if (!isDeepStrictEqual(withoutAnnotations(now.envelope[attribute]), withoutAnnotations(schema)))
        problems.push(`envelope attribute '${attribute}' of ${topic} was removed or changed`);
    for (const attribute of now.required)
      if (!was.required.includes(attribute))
        problems.push(`envelope attribute '${attribute}' of ${topic} became required; old messages lack it`);
  }
  return problems;
}
