import type { EventType, Role, StreamCategory } from '../schemas/events/index.js';

export const permissions = [
  'files:read',
  'files:write',
  'files:delete',
  'inspections:read',
  'inspections:request',
  'inspections:review',
  /** Create, revise and retire acceptance profiles (the rule sets verdicts are judged by). */
  'profiles:manage',
  'models:read',
  'models:manage',
  'users:read',
  'users:manage',
  'stats:read',
  'audit:read',
  'audit:verify',
  'audit:export',
  /** The log exactly as stored, secret hashes included (offline hash verification); admin only. */
  'audit:export-raw',
  'history:as-of',
  'events:stream',
  /** Which worker (host name and PID) ran an inspection. */
  'workers:read',
] as const;
export type Permission = (typeof permissions)[number];

const read: readonly Permission[] = ['files:read', 'inspections:read', 'models:read', 'stats:read'];

/** What each role may do. Admin holds every permission; the others hold exactly what their job needs. */
export const rolePermissions: Readonly<Record<Role, readonly Permission[]>> = {
  admin: permissions,
  viewer: read,
  operator: [...read, 'files:write', 'inspections:request', 'events:stream', 'workers:read'],
  reviewer: [...read, 'inspections:review', 'events:stream'],
  'ml-engineer': [...read, 'models:manage', 'events:stream'],
  // Auditors read everything that happened except secrets; audit-trail summaries name workers.
  auditor: [
    ...read,
    'users:read',
    'audit:read',
    'audit:verify',
    'audit:export',
    'history:as-of',
    'events:stream',
    'workers:read',
  ],
};

const granted = new Map<Role, ReadonlySet<Permission>>(
  Object.entries(rolePermissions).map(([role, list]) => [role as Role, new Set(list)]),
);

export function can(roles: readonly Role[], permission: Permission): boolean {
  return roles.some((role) => granted.get(role)?.has(permission) ?? false);
}

/**
 * Who may read which events, on every way out (event stream, audit export, stream replays, time
 * travel, audit trail and search): each event type belongs to exactly one category, each category
 * lives in one stream category and needs one permission. A test checks it against the registry.
 */
export const eventCategories = {
  files: {
    stream: 'file',
    permission: 'files:read',
    types: ['FileUploaded', 'FileTagged', 'FileDeleted'],
  },
  inspections: {
    stream: 'inspection',
    permission: 'inspections:read',
    types: [
      'InspectionRequested',
      'InferenceStarted',
      'DetectionsRecorded',
      'InspectionFailed',
      'ShadowInferenceFailed',
      'DetectionReviewed',
      'InspectionClosed',
      'InspectionEvaluated',
      'ReportIssued',
    ],
  },
  models: {
    stream: 'model',
    permission: 'models:read',
    types: [
      'ModelRegistered',
      'ModelDeployed',
      'TrafficShifted',
      'ModelRolledBack',
      'ShadowDeployed',
      'ShadowStopped',
      'ModelRetired',
    ],
  },
  identity: {
    stream: 'user',
    permission: 'users:read',
    types: ['UserRegistered', 'RoleGranted', 'RoleRevoked', 'ApiKeyIssued', 'ApiKeyRevoked'],
  },
  access: { stream: 'access', permission: 'audit:read', types: ['AccessRecorded', 'SealKeyActivated'] },
  acceptance: {
    stream: 'acceptance-profile',
    permission: 'inspections:read',
    types: ['AcceptanceProfileCreated', 'AcceptanceProfileRevised', 'AcceptanceProfileRetired'],
  },
} as const satisfies Record<
  string,
  { readonly stream: StreamCategory; readonly permission: Permission; readonly types: readonly EventType[] }
>;
export type EventCategory = keyof typeof eventCategories;

/** 'secret': never leaves the API, except in a raw export asked for with `audit:export-raw`. */
export type FieldRule = Permission | 'secret';

/**
 * Fields fewer callers may read than may read the rest of what holds them, wherever they surface:
 * an event payload (`event:<type>`), a folded aggregate (`state:<stream category>`) or a read-model
 * row (`row:<read model>`). Paths are dotted; `*` stands for every key of an object.
 */
export const restrictedFields: readonly { readonly in: string; readonly path: string; readonly rule: FieldRule }[] = [
  { in: 'event:ApiKeyIssued', path: 'secretSha256', rule: 'secret' },
  { in: 'state:user', path: 'apiKeys.*.secretSha256', rule: 'secret' },
  { in: 'event:InferenceStarted', path: 'worker', rule: 'workers:read' },
  { in: 'row:inspection', path: 'worker', rule: 'workers:read' },
];
