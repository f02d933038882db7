/**
 * Stream ids are `<category>-<id>`: the category names the aggregate and the Kafka topic. A
 * category may itself hold a dash (`acceptance-profile-<id>`), so it is matched as a known prefix.
 */
export const streamCategories = ['file', 'inspection', 'model', 'user', 'access', 'acceptance-profile'] as const;
export type StreamCategory = (typeof streamCategories)[number];

export const streamIdOf = (category: StreamCategory, id: string): string => `${category}-${id}`;

/** Longest first, so a category that is a prefix of another never wins by accident. */
const byLength = [...streamCategories].sort((a, b) => b.length - a.length);

export function categoryOf(streamId: string): StreamCategory | undefined {
  return byLength.find((category) => streamId === category || streamId.startsWith(`${category}-`));
}

export const idOf = (streamId: string): string => {
  const category = categoryOf(streamId);
  return category ? streamId.slice(category.length + 1) : streamId.slice(streamId.indexOf('-') + 1);
};
