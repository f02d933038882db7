import { z } from 'zod';
import { Thresholds } from '../../schemas/events/common.js';
import type { RecordedEvent } from '../../schemas/events/index.js';
import type { Projection, TableNames } from '../projection.js';
import { insertRows, loadRows, type Tx, upsertRows } from '../sql.js';
import { col, defineTable } from '../table.js';

const Weights = z.record(z.string(), z.number());

import { type Decoded, decode } from './decode.js';

export const modelsTable = defineTable(
  'models',
  {
    name: col.text(),
    /** The live traffic split: version -> percent. */
    weights: col.jsonb(Weights),
    shadow_versions: col.jsonb(z.array(z.string())),
    version_count: col.integer(),
    registered_at: col.timestamptz(),
    updated_at: col.timestamptz(),
    last_position: col.bigint(),
  },
  { primaryKey: ['name'] },
);
type ModelRow = typeof modelsTable.Row;

export const VERSION_STATUSES = ['registered', 'live', 'shadow', 'retired'] as const;
export const modelVersionsTable = defineTable(
  'model_versions',
  {
    name: col.text(),
    version: col.text(),
    sha256: col.text(),
    size_bytes: col.bigint(),
    output_layout: col.text(),
    classes: col.jsonb(z.array(z.string())),
    input_width: col.integer(),
    input_height: col.integer(),
    metrics: col.jsonb(z.record(z.string(), z.number())),
    description: col.text(),
    registered_by: col.text(),
    registered_at: col.timestamptz(),
    registered_position: col.bigint(),
    /** registered (no traffic) | live | shadow | retired */
    status: col.oneOf(VERSION_STATUSES),
    weight: col.double(),
    canary: col.boolean(),
    shadow: col.boolean(),
    thresholds: col.jsonb(Thresholds).nullable(),
    deployed_at: col.timestamptz().nullable(),
    retired_at: col.timestamptz().nullable(),
    retire_reason: col.text().nullable(),
    updated_at: col.timestamptz(),
  },
  { primaryKey: ['name', 'version'] },
);
type VersionRow = typeof modelVersionsTable.Row;

/** The deployment history: a row per registry event that changed who serves traffic. */
export const deploymentsTable = defineTable(
  'deployments',
  {
    position: col.bigint(),
    name: col.text(),
    /** deployed | traffic-shifted | rolled-back | shadow-deployed | shadow-stopped | retired */
    kind: col.oneOf(['deployed', 'traffic-shifted', 'rolled-back', 'shadow-deployed', 'shadow-stopped', 'retired']),
    version: col.text().nullable(),
    from_version: col.text().nullable(),
    weights: col.jsonb(Weights).nullable(),
    canary: col.boolean().nullable(),
    reason: col.text().nullable(),
    actor: col.text(),
    at: col.timestamptz(),
  },
  { primaryKey: ['position'], indexes: ['(name, position)'] },
);
type DeploymentRow = typeof deploymentsTable.Row;

const MODEL_EVENTS = new Set([
  'ModelRegistered',
  'ModelDeployed',
  'TrafficShifted',
  'ModelRolledBack',
  'ShadowDeployed',
  'ShadowStopped',
  'ModelRetired',
]);

/** What a version is doing now, from its weight and flags. */
export function versionStatus(row: { retired: boolean; weight: number; shadow: boolean }): VersionRow['status'] {
  if (row.retired) return 'retired';
  if (row.weight > 0) return 'live';
  if (row.shadow) return 'shadow';
  return 'registered';
}

const versionKey = (name: string, version: string) => `${name}\u0000${version}`;

class ModelBatch {
  readonly dirtyModels = new Set<string>();
  readonly dirtyVersions = new Set<string>();
  readonly deployments: DeploymentRow[] = [];

  constructor(
    readonly models: Map<string, ModelRow>,
    readonly versions: Map<string, VersionRow>,
  ) {}

  versionsOf(name: string): VersionRow[] {
    return [...this.versions.values()].filter((v) => v.name === name);
  }

  refresh(version: VersionRow, event: RecordedEvent): void {
    version.status = versionStatus({
      retired: version.retired_at != null,
      weight: version.weight,
      shadow: version.shadow,
    });
    version.updated_at = event.recordedAt;
    this.dirtyVersions.add(versionKey(version.name, version.version));
  }

  /** A new traffic split for the whole model: every version's weight follows it. */
  setWeights(name: string, weights: Record<string, number>, event: RecordedEvent): void {
    const model = this.models.get(name);
    if (model) {
      model.weights = weights;
      this.touchModel(model, event);
    }
    for (const version of this.versionsOf(name)) {
      const weight = weights[version.version] ?? 0;
      if (version.weight !== weight) {
        version.weight = weight;
        // A canary ends when it takes all traffic or none.
        if (weight === 0 || weight === 100) version.canary = false;
      }
      this.refresh(version, event);
    }
  }

  touchModel(model: ModelRow, event: RecordedEvent): void {
    model.updated_at = event.recordedAt;
    model.last_position = event.globalPosition;
    this.dirtyModels.add(model.name);
  }

  setShadow(name: string, versionName: string, on: boolean, event: RecordedEvent): void {
    const version = this.versions.get(versionKey(name, versionName));
    if (version) {
      version.shadow = on;
      this.refresh(version, event);
    }
    const model = this.models.get(name);
    if (model) {
      const current = new Set(model.shadow_versions);
      if (on) current.add(versionName);
      else current.delete(versionName);
      model.shadow_versions = [...current].sort();
      this.touchModel(model, event);
    }
  }
}

function applyOne(batch: ModelBatch, { event, domain }: Decoded): void {
  const history = (row: Partial<DeploymentRow> & Pick<DeploymentRow, 'name' | 'kind' | 'actor'>) =>
    batch.deployments.push({
      position: event.globalPosition,
      version: null,
      from_version: null,
      weights: null,
      canary: null,
      reason: null,
      at: event.recordedAt,
      ...row,
    });
  switch (domain.type) {
    case 'ModelRegistered': {
      const d = domain.data;
      let model = batch.models.get(d.name);
      if (!model) {
        model = {
          name: d.name,
          weights: {},
          shadow_versions: [],
          version_count: 0,
          registered_at: event.recordedAt,
          updated_at: event.recordedAt,
          last_position: event.globalPosition,
        };
        batch.models.set(d.name, model);
      }
      model.version_count += 1;
      batch.touchModel(model, event);
      const key = versionKey(d.name, d.version);
      batch.versions.set(key, {
        name: d.name,
        version: d.version,
        sha256: d.sha256,
        size_bytes: d.sizeBytes,
        output_layout: d.outputLayout,
        classes: d.classes,
        input_width: d.inputSize.width,
        input_height: d.inputSize.height,
        metrics: d.metrics,
        description: d.description,
        registered_by: d.registeredBy,
        registered_at: event.recordedAt,
        registered_position: event.globalPosition,
        status: 'registered',
        weight: model.weights[d.version] ?? 0,
        canary: false,
        shadow: false,
        // what it serves with until a deployment sets its own (null: the global defaults)
        thresholds: d.thresholds ?? null,
        deployed_at: null,
        retired_at: null,
        retire_reason: null,
        updated_at: event.recordedAt,
      });
      batch.dirtyVersions.add(key);
      return;
    }
    case 'ModelDeployed': {
      const d = domain.data;
      const version = batch.versions.get(versionKey(d.name, d.version));
      if (version) {
        version.canary = d.canary;
        version.thresholds = d.thresholds;
        version.deployed_at = event.recordedAt;
      }
      batch.setWeights(d.name, d.weights, event);
      if (version && d.canary) version.canary = true;
      history({
        name: d.name,
        kind: 'deployed',
        version: d.version,
        weights: d.weights,
        canary: d.canary,
        actor: d.deployedBy,
      });
      return;
    }
    case 'TrafficShifted': {
      const d = domain.data;
      batch.setWeights(d.name, d.weights, event);
      history({ name: d.name, kind: 'traffic-shifted', weights: d.weights, reason: d.reason, actor: d.shiftedBy });
      return;
    }
    case 'ModelRolledBack': {
      const d = domain.data;
      batch.setWeights(d.name, d.weights, event);
      history({
        name: d.name,
        kind: 'rolled-back',
        version: d.toVersion,
        from_version: d.fromVersion,
        weights: d.weights,
        reason: d.reason,
        actor: d.rolledBackBy,
      });
      return;
    }
    case 'ShadowDeployed': {
      const d = domain.data;
      batch.setShadow(d.name, d.version, true, event);
      history({ name: d.name, kind: 'shadow-deployed', version: d.version, actor: d.deployedBy });
      return;
    }
    case 'ShadowStopped': {
      const d = domain.data;
      batch.setShadow(d.name, d.version, false, event);
      history({ name: d.name, kind: 'shadow-stopped', version: d.version, actor: d.stoppedBy });
      return;
    }
    case 'ModelRetired': {
      const d = domain.data;
      const version = batch.versions.get(versionKey(d.name, d.version));
      if (version) {
        version.retired_at = event.recordedAt;
        version.retire_reason = d.reason;
        version.canary = false;
        batch.refresh(version, event);
      }
      const model = batch.models.get(d.name);
      if (model) batch.touchModel(model, event);
      history({ name: d.name, kind: 'retired', version: d.version, reason: d.reason, actor: d.retiredBy });
      return;
    }
    default:
      return;
  }
}

async function apply(tx: Tx, events: readonly RecordedEvent[], tables: TableNames): Promise<void> {
  const decoded = events.map(decode);
  const names = [...new Set(decoded.map((d) => (d.domain.data as { name: string }).name))];
  const models = await loadRows(tx, tables('models'), modelsTable, 'name', names);
  const { rows } = await tx.query(`SELECT * FROM ${tables('model_versions')} WHERE name = ANY($1::text[])`, [names]);
  const versions = new Map(
    rows.map((raw) => {
      const r = modelVersionsTable.read(raw);
      return [versionKey(r.name, r.version), r];
    }),
  );
  const batch = new ModelBatch(models, versions);
  for (const d of decoded) applyOne(batch, d);
  await upsertRows(
    tx,
    tables('models'),
    modelsTable,
    [...batch.dirtyModels].map((name) => batch.models.get(name)!),
  );
  await upsertRows(
    tx,
    tables('model_versions'),
    modelVersionsTable,
    [...batch.dirtyVersions].map((key) => batch.versions.get(key)!),
  );
  await insertRows(tx, tables('deployments'), deploymentsTable, batch.deployments, { ignoreConflicts: true });
}

export const modelsProjection: Projection = {
  name: 'models',
  // 2: thresholds carry classConfidence (rows projected before it have none).
  version: 2,
  tables: [modelsTable, modelVersionsTable, deploymentsTable],
  handles: MODEL_EVENTS,
  apply,
};
