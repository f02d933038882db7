/** Stream ids are `<category>-<id>`: the category names the aggregate and the Kafka topic. */
export const streamCategories = ['file', 'inspection', 'model', 'user', 'access'] as const;
export type StreamCategory = (typeof streamCategories)[number];

export const streamIdOf = (category: StreamCategory, id: string): string => `${category}-${id}`;

export function categoryOf(streamId: string): StreamCategory | undefined {
  const dash = streamId.indexOf('-');
  const category = dash > 0 ? streamId.slice(0, dash) : streamId;
  return (streamCategories as readonly string[]).includes(category) ? (category as StreamCategory) : undefined;
}

export const idOf = (streamId: string): string => streamId.slice(streamId.indexOf('-') + 1);
