import type { Projection } from '../projection.js';
import { auditTrailProjection } from './audit-trail.js';
import { filesProjection } from './files.js';
import { inspectionsProjection } from './inspections.js';
import { modelsProjection } from './models.js';
import { reportsProjection } from './reports.js';
import { shadowComparisonProjection } from './shadow-comparison.js';

/** Every PostgreSQL read model, in the order the runner starts them. */
export const readModelProjections: readonly Projection[] = [
  filesProjection,
  inspectionsProjection,
  modelsProjection,
  shadowComparisonProjection,
  auditTrailProjection,
  reportsProjection,
];

export {
  auditTrailProjection,
  filesProjection,
  inspectionsProjection,
  modelsProjection,
  reportsProjection,
  shadowComparisonProjection,
};
