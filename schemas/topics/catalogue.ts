import {
  categoryOf,
  type EventType,
  eventDefinitions,
  type StreamCategory,
  streamCategories,
} from '../events/index.js';

/** One Kafka topic per aggregate (stream category); every event of that category goes there. */
export interface TopicDefinition {
  /** Topic name without the deployment prefix: `<prefix>.<name>`, e.g. `chitti.inspections`. */
  readonly name: string;
  readonly category: StreamCategory;
  /** What the stream ids (and so the message keys) look like. */
  readonly streamIds: string;
  readonly description: string;
  readonly eventTypes: readonly EventType[];
}

export const DEFAULT_TOPIC_PREFIX = 'chitti';
/** Messages a consumer gave up on (unparseable, or still failing after its retries). */
export const DEAD_LETTER_TOPIC_NAME = 'dead-letter';

export const topicCatalogue: readonly TopicDefinition[] = [
  {
    name: 'files',
    category: 'file',
    streamIds: 'file-<id>',
    description: 'Uploaded images: upload, tags, deletion (the blob is erased, the event stays).',
    eventTypes: ['FileUploaded', 'FileTagged', 'FileDeleted'],
  },
  {
    name: 'inspections',
    category: 'inspection',
    streamIds: 'inspection-<id>',
    description: 'Inspection lifecycle: request, inference attempts, detections, human review, closing.',
    eventTypes: [
      'InspectionRequested',
      'InferenceStarted',
      'DetectionsRecorded',
      'InspectionFailed',
      'ShadowInferenceFailed',
      'DetectionReviewed',
      'InspectionClosed',
      'InspectionEvaluated',
      'ReportIssued',
    ],
  },
  {
    name: 'models',
    category: 'model',
    streamIds: 'model-<name>',
    description: 'Model registry: registration, deployment, traffic split, shadows, rollback, retirement.',
    eventTypes: [
      'ModelRegistered',
      'ModelDeployed',
      'TrafficShifted',
      'ModelRolledBack',
      'ShadowDeployed',
      'ShadowStopped',
      'ModelRetired',
    ],
  },
  {
    name: 'users',
    category: 'user',
    streamIds: 'user-<id>',
    description: 'Users, roles and API keys (key material is never in an event).',
    eventTypes: ['UserRegistered', 'RoleGranted', 'RoleRevoked', 'ApiKeyIssued', 'ApiKeyRevoked'],
  },
  {
    name: 'access',
    category: 'access',
    streamIds: 'access-<yyyy-mm-dd>, access-seal-keys',
    description:
      'Audited sensitive reads (audit exports, replays), one stream per day; the public keys seals are signed with.',
    eventTypes: ['AccessRecorded', 'SealKeyActivated'],
  },
  {
    name: 'acceptance-profiles',
    category: 'acceptance-profile',
    streamIds: 'acceptance-profile-<id>',
    description:
      'Acceptance profiles: versioned rule sets that turn detections into a verdict (create, revise, retire).',
    eventTypes: ['AcceptanceProfileCreated', 'AcceptanceProfileRevised', 'AcceptanceProfileRetired'],
  },
];

export class UnroutableStreamError extends Error {
  readonly code = 'unroutable-stream';
  constructor(readonly streamId: string) {
    super(`stream '${streamId}' has no topic: its category is not one of ${streamCategories.join(', ')}`);
  }
}

const byCategory = new Map(topicCatalogue.map((t) => [t.category, t]));

export function topicName(prefix: string, definition: Pick<TopicDefinition, 'name'>): string {
  return `${prefix}.${definition.name}`;
}

export function deadLetterTopic(prefix = DEFAULT_TOPIC_PREFIX): string {
  return `${prefix}.${DEAD_LETTER_TOPIC_NAME}`;
}

/** The topic an event type is published on. */
export function topicOf(eventType: string): TopicDefinition {
  const topic = topicCatalogue.find((t) => (t.eventTypes as readonly string[]).includes(eventType));
  if (!topic) throw new Error(`event type ${eventType} is on no topic`);
  return topic;
}

/** The topic of a stream id (`inspection-42` → `chitti.inspections`). */
export function topicOfStream(streamId: string, prefix = DEFAULT_TOPIC_PREFIX): string {
  const category = categoryOf(streamId);
  const definition = category && byCategory.get(category);
  if (!definition) throw new UnroutableStreamError(streamId);
  return topicName(prefix, definition);
}

export function allTopics(prefix = DEFAULT_TOPIC_PREFIX): string[] {
  return topicCatalogue.map((t) => topicName(prefix, t));
}

/** CloudEvents `type` of an event: `chitti.<EventType>.v<schema version>`. */
export function cloudEventType(eventType: string, version: number): string {
  return `chitti.${eventType}.v${version}`;
}

export function parseCloudEventType(type: string): { eventType: string; version: number } | undefined {
  const match = /^chitti\.([A-Za-z]+)\.v([1-9]\d*)$/.exec(type);
  if (!match?.[1] || !match[2]) return undefined;
  return { eventType: match[1], version: Number(match[2]) };
}

/** Every event type of the catalogue is published on exactly one topic. */
export function unroutedEventTypes(): EventType[] {
  const routed = new Set(topicCatalogue.flatMap((t) => t.eventTypes));
  return (Object.keys(eventDefinitions) as EventType[]).filter((t) => !routed.has(t));
}
