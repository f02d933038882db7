import type {
  DeployModel,
  DeployShadow,
  RegisterModel,
  RetireModel,
  RollBackModel,
  ShiftTraffic,
  StopShadow,
} from '../../schemas/commands/model.js';
import type { Command } from '../decider.js';

export type RegisterModelCommand = Command<'RegisterModel', RegisterModel>;
export type DeployModelCommand = Command<'DeployModel', DeployModel>;
export type ShiftTrafficCommand = Command<'ShiftTraffic', ShiftTraffic>;
export type RollBackModelCommand = Command<'RollBackModel', RollBackModel>;
export type RetireModelCommand = Command<'RetireModel', RetireModel>;
export type DeployShadowCommand = Command<'DeployShadow', DeployShadow>;
export type StopShadowCommand = Command<'StopShadow', StopShadow>;
export type ModelCommand =
  | RegisterModelCommand
  | DeployModelCommand
  | ShiftTrafficCommand
  | RollBackModelCommand
  | RetireModelCommand
  | DeployShadowCommand
  | StopShadowCommand;
