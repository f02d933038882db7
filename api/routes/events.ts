import { categoryOf } from '../../schemas/events/index.js';
import type { ApiDependencies, ResolvedApiOptions } from '../dependencies.js';
import { outwardEvent } from '../disclosure.js';
import { route } from '../http/route.js';
import { EventStreamQuery, LastEventId } from '../schemas.js';
import { writeChunk } from './audit.js';
import { readerOf } from './helpers.js';

export const eventRoutes = (deps: ApiDependencies, options: ResolvedApiOptions) => [
  route({
    method: 'get',
    path: '/v1/events/stream',
    operationId: 'streamEvents',
    summary: 'Server-sent events: every new event as it is committed (id = global position)',
    description:
      'Resume with the Last-Event-ID header (or ?after=); without either the stream starts at the current head. ' +
      'Filter with ?types= and ?category=. Only events of the categories your permissions allow arrive, with ' +
      'secret fields removed (listed in `redacted`); ids are global positions, so they have gaps. When the last ' +
      'events of a batch are not for you, a bare `id:` line (no data, no event dispatched) moves your resume ' +
      'position past them. A comment line is sent as a heartbeat.',
    tag: 'events',
    permission: 'events:stream',
    query: EventStreamQuery,
    headers: [
      { name: 'Last-Event-ID', description: 'Global position of the last event received', schema: LastEventId },
    ],
    sensitive: ({ query }) => ({
      action: 'events.tail',
      resource: `events${query.category ? `?category=${query.category}` : ''}`,
      permission: 'events:stream',
    }),
    responses: { 200: { description: 'text/event-stream of events', contentType: 'text/event-stream' } },
    handle: async (input) => {
      const { query, req, res } = input;
      const reader = readerOf(input);
      const lastEventId = req.get('last-event-id');
      const after = query.after ?? (lastEventId !== undefined ? Number(lastEventId) : await deps.log.headPosition());
      const types = query.types ? new Set(query.types) : undefined;

      res.status(200);
      res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
      res.setHeader('Cache-Control', 'no-cache, no-transform');
      res.setHeader('X-Accel-Buffering', 'no');
      res.flushHeaders();
      res.write(`retry: 2000\n: streaming after ${after}\n\n`);

      const subscription = deps.log.subscribe({
        after,
        batchSize: 200,
        name: 'sse',
        handle: async (batch) => {
          let chunk = '';
          let skippedTail = false;
          for (const event of batch) {
            const shown =
              (!types || types.has(event.type)) &&
              (!query.category || categoryOf(event.streamId) === query.category) &&
              outwardEvent(reader, event);
            skippedTail = !shown;
            if (shown) chunk += `id: ${event.globalPosition}\nevent: ${event.type}\ndata: ${JSON.stringify(shown)}\n\n`;
          }
          // A bare id sets the client's Last-Event-ID without dispatching an event: a reconnect resumes after
          // what was filtered instead of scanning it again.
          const last = batch.at(-1);
          if (skippedTail && last) chunk += `id: ${last.globalPosition}\n\n`;
          if (chunk) await writeChunk(res, chunk);
        },
        // The stream stays open through a database outage (heartbeats go on) and resumes where it
        // was: an EventSource would not reconnect after a 503, so ending it here would lose the client.
        onError: (error) => deps.logger.warn({ err: error }, 'event stream: reading the log failed; retrying'),
      });
      const heartbeat = setInterval(() => {
        if (!res.destroyed) res.write(': heartbeat\n\n');
      }, options.sseHeartbeatMs);
      heartbeat.unref();
      res.on('close', () => {
        clearInterval(heartbeat);
        void subscription.stop();
      });
      return undefined;
    },
  }),
];
