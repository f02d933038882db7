import type { z } from 'zod';
import type { ModelCommand } from '../domain/model/index.js';
import { type ModelState, modelDecider } from '../domain/model/index.js';
import {
  DeployModel,
  DeployShadow,
  RegisterModel,
  RetireModel,
  RollBackModel,
  ShiftTraffic,
  StopShadow,
} from '../schemas/commands/model.js';
import { streamIdOf } from '../schemas/events/index.js';
import type { CommandContext } from './context.js';
import type { CommandDeps } from './deps.js';
import { type LoadedAggregate, loadAggregate, type PointInTime } from './load-aggregate.js';
import { simpleCommands } from './simple-commands.js';

export const modelStreamId = (name: string): string => streamIdOf('model', name);

const schemas = {
  RegisterModel,
  DeployModel,
  ShiftTraffic,
  RollBackModel,
  RetireModel,
  DeployShadow,
  StopShadow,
} satisfies Record<ModelCommand['type'], z.ZodType>;

const run = simpleCommands(modelDecider, schemas, (data: { name: string }) => modelStreamId(data.name));

export const registerModel = (deps: CommandDeps, input: z.input<typeof RegisterModel>, ctx: CommandContext) =>
  run('RegisterModel', deps, input, ctx);
export const deployModel = (deps: CommandDeps, input: z.input<typeof DeployModel>, ctx: CommandContext) =>
  run('DeployModel', deps, input, ctx);
export const shiftTraffic = (deps: CommandDeps, input: z.input<typeof ShiftTraffic>, ctx: CommandContext) =>
  run('ShiftTraffic', deps, input, ctx);
export const rollBackModel = (deps: CommandDeps, input: z.input<typeof RollBackModel>, ctx: CommandContext) =>
  run('RollBackModel', deps, input, ctx);
export const retireModel = (deps: CommandDeps, input: z.input<typeof RetireModel>, ctx: CommandContext) =>
  run('RetireModel', deps, input, ctx);
export const deployShadow = (deps: CommandDeps, input: z.input<typeof DeployShadow>, ctx: CommandContext) =>
  run('DeployShadow', deps, input, ctx);
export const stopShadow = (deps: CommandDeps, input: z.input<typeof StopShadow>, ctx: CommandContext) =>
  run('StopShadow', deps, input, ctx);

export function loadModel(deps: CommandDeps, name: string, at: PointInTime = {}): Promise<LoadedAggregate<ModelState>> {
  return loadAggregate(deps.store, modelDecider, modelStreamId(name), at, deps.states);
}
