import type { ChittiEvent } from '../../schemas/events/index.js';

const weights = (w: Record<string, number>) =>
  Object.entries(w)
    .map(([version, percent]) => `${version}=${percent}%`)
    .join(', ');

/** One line a compliance auditor can read; never includes secrets (events carry none). */
export function summarise(event: ChittiEvent): string {
  switch (event.type) {
    case 'FileUploaded': {
      const d = event.data;
      return `${d.uploadedBy} uploaded file ${d.fileId} (${d.originalName}, ${d.mediaType}, ${d.width}x${d.height}, ${d.sizeBytes} bytes)`;
    }
    case 'FileTagged': {
      const d = event.data;
      const parts = [
        d.added.length ? `added ${d.added.join(', ')}` : '',
        d.removed.length ? `removed ${d.removed.join(', ')}` : '',
      ].filter(Boolean);
      return `${d.taggedBy} tagged file ${d.fileId}: ${parts.join('; ') || 'no change'}`;
    }
    case 'FileDeleted':
      return `${event.data.deletedBy} deleted file ${event.data.fileId}: ${event.data.reason}`;
    case 'InspectionRequested': {
      const d = event.data;
      return `${d.requestedBy} requested inspection ${d.inspectionId} of file ${d.fileId} with ${d.model.name}@${d.model.version} (${d.selection.reason})`;
    }
    case 'InferenceStarted':
      return `${event.data.worker} started inspection ${event.data.inspectionId} (attempt ${event.data.attempt})`;
    case 'DetectionsRecorded': {
      const d = event.data;
      return `${d.model.name}@${d.model.version} (${d.role}) recorded ${d.detections.length} detection(s) on inspection ${d.inspectionId}${d.cached ? ' from cache' : ''}`;
    }
    case 'InspectionFailed': {
      const d = event.data;
      return `inspection ${d.inspectionId} failed (${d.code}, attempt ${d.attempt}${d.final ? ', final' : ''}): ${d.reason}`;
    }
    case 'ShadowInferenceFailed': {
      const d = event.data;
      return `shadow ${d.model.name}@${d.model.version} failed on inspection ${d.inspectionId} (${d.code}): ${d.reason}`;
    }
    case 'DetectionReviewed': {
      const d = event.data;
      const relabel = d.verdict === 'relabelled' && d.newClassName ? ` as ${d.newClassName}` : '';
      return `${d.reviewer} ${d.verdict} detection ${d.detectionId}${relabel} on inspection ${d.inspectionId}`;
    }
    case 'InspectionClosed':
      return `${event.data.closedBy} closed inspection ${event.data.inspectionId}: ${event.data.outcome}`;
    case 'InspectionEvaluated': {
      const d = event.data;
      return `${d.evaluatedBy} evaluated inspection ${d.inspectionId} against ${d.profile.profileId} revision ${d.profile.revision}: ${d.verdict}`;
    }
    case 'ReportIssued': {
      const d = event.data;
      return `${d.issuedBy} was issued a ${d.format} report of inspection ${d.inspectionId}${d.asOf ? ` as of ${d.asOf}` : ''} (sha256 ${d.reportSha256.slice(0, 12)})`;
    }
    case 'AcceptanceProfileCreated':
      return `${event.data.createdBy} created acceptance profile ${event.data.profileId} (${event.data.rules.length} rules${event.data.sample ? ', sample' : ''})`;
    case 'AcceptanceProfileRevised':
      return `${event.data.revisedBy} revised acceptance profile ${event.data.profileId} to revision ${event.data.revision}`;
    case 'AcceptanceProfileRetired':
      return `${event.data.retiredBy} retired acceptance profile ${event.data.profileId}: ${event.data.reason}`;
    case 'ModelRegistered': {
      const d = event.data;
      return `${d.registeredBy} registered model ${d.name}@${d.version} (${d.classes.length} classes, sha256 ${d.sha256.slice(0, 12)})`;
    }
    case 'ModelDeployed': {
      const d = event.data;
      return `${d.deployedBy} deployed ${d.name}@${d.version}${d.canary ? ' as canary' : ''}: ${weights(d.weights)}`;
    }
    case 'TrafficShifted':
      return `${event.data.shiftedBy} shifted traffic of ${event.data.name}: ${weights(event.data.weights)}`;
    case 'ModelRolledBack': {
      const d = event.data;
      return `${d.rolledBackBy} rolled ${d.name} back from ${d.fromVersion} to ${d.toVersion}: ${d.reason}`;
    }
    case 'ShadowDeployed':
      return `${event.data.deployedBy} started shadow ${event.data.name}@${event.data.version}`;
    case 'ShadowStopped':
      return `${event.data.stoppedBy} stopped shadow ${event.data.name}@${event.data.version}`;
    case 'ModelRetired':
      return `${event.data.retiredBy} retired ${event.data.name}@${event.data.version}`;
    case 'UserRegistered':
      return `${event.data.registeredBy} registered user ${event.data.userId}`;
    case 'RoleGranted':
      return `${event.data.grantedBy} granted ${event.data.role} to user ${event.data.userId}`;
    case 'RoleRevoked':
      return `${event.data.revokedBy} revoked ${event.data.role} from user ${event.data.userId}`;
    case 'ApiKeyIssued':
      return `${event.data.issuedBy} issued API key ${event.data.keyId} to user ${event.data.userId}`;
    case 'ApiKeyRevoked':
      return `${event.data.revokedBy} revoked API key ${event.data.keyId} of user ${event.data.userId}`;
    case 'AccessRecorded': {
      const d = event.data;
      const times = d.window ? ` ${d.count} time(s) between ${d.window.from} and ${d.window.to}` : '';
      return `${d.actor} ${d.decision === 'allowed' ? 'was allowed' : 'was denied'} ${d.action} on ${d.resource}${times}${d.reason ? `: ${d.reason}` : ''}`;
    }
    case 'SealKeyActivated':
      return `the sealer started signing seals with ${event.data.algorithm} key ${event.data.keyId}`;
  }
}
