import type { TokenService } from '../auth/token-service.js';
import type { ApiDependencies, ResolvedApiOptions } from '../dependencies.js';
import type { RouteSpec } from '../http/route.js';
import { acceptanceRoutes } from './acceptance.js';
import { auditRoutes } from './audit.js';
import { authRoutes } from './auth.js';
import { eventRoutes } from './events.js';
import { fileRoutes } from './files.js';
import { inspectionRoutes } from './inspections.js';
import { modelRoutes } from './models.js';
import { reportRoutes } from './reports.js';
import { statsRoutes } from './stats.js';
import { userRoutes } from './users.js';

/** Every authenticated and public API route, in the order they are matched. */
export function apiRoutes(deps: ApiDependencies, options: ResolvedApiOptions, tokens: TokenService): RouteSpec[] {
  return [
    ...authRoutes(tokens),
    ...fileRoutes(deps, options),
    ...inspectionRoutes(deps, options),
    ...reportRoutes(deps, options),
    ...acceptanceRoutes(deps),
    ...modelRoutes(deps, options),
    ...userRoutes(deps),
    ...auditRoutes(deps),
    ...statsRoutes(deps),
    ...eventRoutes(deps, options),
  ];
}
