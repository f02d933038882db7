import { categoryOf } from '../../schemas/events/index.js';
import type { ApiDependencies, ResolvedApiOptions } from '../dependencies.js';
import { badRequest } from '../http/problem.js';
import { route } from '../http/route.js';
import { EventStreamQuery } from '../schemas.js';
import { eventJson, writeChunk } from './audit.js';

const LAST_EVENT_ID = /^\d{1,15}$/;

export const eventRoutes = (deps: ApiDependencies, options: ResolvedApiOptions) => [
  route({
    method: 'get',
    path: '/v1/events/stream',
    operationId: 'streamEvents',
    summary: 'Server-sent events: every new event as it is committed (id = global position)',
    description:
      'Resume with the Last-Event-ID header (or ?after=); without either the stream starts at the current head. ' +
      'Filter with ?types= and ?category=. A comment line is sent as a heartbeat.',
    tag: 'events',
    permission: 'events:stream',
    query: EventStreamQuery,
    headers: [{ name: 'Last-Event-ID', description: 'Global position of the last event received' }],
    sensitive: ({ query }) => ({
      action: 'events.tail',
      resource: `events${query.category ? `?category=${query.category}` : ''}`,
      permission: 'events:stream',
    }),
    responses: { 200: { description: 'text/event-stream of events', contentType: 'text/event-stream' } },
    handle: async ({ query, req, res }) => {
      const lastEventId = req.get('last-event-id');
      if (lastEventId !== undefined && !LAST_EVENT_ID.test(lastEventId)) {
        throw badRequest('Last-Event-ID must be a global position');
      }
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
          for (const event of batch) {
            if (types && !types.has(event.type)) continue;
            if (query.category && categoryOf(event.streamId) !== query.category) continue;
            chunk += `id: ${event.globalPosition}\nevent: ${event.type}\ndata: ${JSON.stringify(eventJson(event))}\n\n`;
          }
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
