import type { ApiDependencies } from '../dependencies.js';
import { route } from '../http/route.js';
import { DailyDefectRows, DailyDefectsQuery, ProjectionStatusRows, ReviewStatsRows } from '../schemas.js';

export const statsRoutes = (deps: ApiDependencies) => [
  route({
    method: 'get',
    path: '/v1/stats/reviews',
    operationId: 'reviewStats',
    summary: 'Human review outcomes per class (confirmed / rejected / relabelled) and the precision they imply',
    tag: 'stats',
    permission: 'stats:read',
    responses: { 200: { description: 'Review outcomes per class', schema: ReviewStatsRows } },
    handle: async () => ({ status: 200, body: { items: await deps.queries.reviewStats() } }),
  }),
  route({
    method: 'get',
    path: '/v1/stats/daily-defects',
    operationId: 'dailyDefects',
    summary: 'Detections per day and class',
    tag: 'stats',
    permission: 'stats:read',
    query: DailyDefectsQuery,
    responses: { 200: { description: 'Detections per day and class', schema: DailyDefectRows } },
    handle: async ({ query }) => ({ status: 200, body: { items: await deps.queries.dailyDefectStats(query) } }),
  }),
  route({
    method: 'get',
    path: '/v1/projections',
    operationId: 'projectionStatus',
    summary: 'Each read model’s checkpoint and lag behind the log (how stale reads may be)',
    tag: 'stats',
    permission: 'stats:read',
    responses: { 200: { description: 'Every read model', schema: ProjectionStatusRows } },
    handle: async () => ({ status: 200, body: { items: await deps.queries.projectionStatus() } }),
  }),
];
