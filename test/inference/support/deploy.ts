import { type CommandContext, deployModel, registerModel } from '../../../commands/index.js';
import { type ModelInspection, modelRegisteredData } from '../../../inference/model-store.js';
import type { PostgresEventStore } from '../../../infra/postgres/event-store.js';

/** Registers an inspected model under `name` at its metadata version (else `fallbackVersion`) and gives it all traffic. */
export async function registerAndDeploy(
  store: PostgresEventStore,
  inspection: ModelInspection,
  name: string,
  ctx: CommandContext,
  fallbackVersion = '0.0.0',
): Promise<string> {
  const version = inspection.metadata.version ?? fallbackVersion;
  const { registeredBy: _by, ...registration } = modelRegisteredData(inspection, {
    name,
    version,
    registeredBy: ctx.actor,
  });
  await registerModel({ store }, registration, ctx);
  await deployModel({ store }, { name, version }, ctx);
  return version;
}
