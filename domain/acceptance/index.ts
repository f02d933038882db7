export { type EvaluationInput, evaluateDetections, type LiveDetection, type ReviewState } from './evaluate.js';
export { type MeasuredInput, measureDetection, pixelSpacingOfUpload } from './measure.js';
export {
  type AcceptanceProfileCommand,
  type AcceptanceProfileEvent,
  type AcceptanceProfileState,
  acceptanceProfileDecider,
  revisionForEvaluation,
} from './profile.js';
export { SAMPLE_PROFILE } from './sample-profile.js';
