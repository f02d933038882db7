import { describe, expect, it } from 'vitest';
import { eventDefinitions } from '../events/index.js';
import {
  allTopics,
  cloudEventType,
  parseCloudEventType,
  topicCatalogue,
  topicOfStream,
  UnroutableStreamError,
  unroutedEventTypes,
} from './catalogue.js';

describe('topic catalogue', () => {
  it('publishes every event type on exactly one topic', () => {
    expect(unroutedEventTypes()).toEqual([]);
    const routed = topicCatalogue.flatMap((t) => t.eventTypes);
    expect(routed.length).toBe(new Set(routed).size);
    expect(routed.length).toBe(Object.keys(eventDefinitions).length);
  });

  it('names one topic per aggregate and routes stream ids by category', () => {
    expect(allTopics()).toEqual([
      'chitti.files',
      'chitti.inspections',
      'chitti.models',
      'chitti.users',
      'chitti.access',
      'chitti.acceptance-profiles',
    ]);
    expect(topicOfStream('inspection-7f3')).toBe('chitti.inspections');
    expect(topicOfStream('model-weld-defects', 'staging')).toBe('staging.models');
    expect(topicOfStream('access-2026-11-23')).toBe('chitti.access');
    // A category with a dash in its name wins over a shorter one that is not a category.
    expect(topicOfStream('acceptance-profile-sample-1')).toBe('chitti.acceptance-profiles');
    expect(() => topicOfStream('acceptance-1')).toThrow(UnroutableStreamError);
    expect(() => topicOfStream('invoice-1')).toThrow(UnroutableStreamError);
  });

  it('round-trips CloudEvents types', () => {
    expect(cloudEventType('FileUploaded', 1)).toBe('chitti.FileUploaded.v1');
    expect(parseCloudEventType('chitti.FileUploaded.v12')).toEqual({ eventType: 'FileUploaded', version: 12 });
    expect(parseCloudEventType('chitti.FileUploaded')).toBeUndefined();
    expect(parseCloudEventType('other.FileUploaded.v1')).toBeUndefined();
  });
});
