import type { ExpectedVersion, MediaType, Role, Thresholds } from '../../schemas/events/index.js';

/** Version -> percent of requests; sums to 100. */
export type TrafficWeights = Readonly<Record<string, number>>;

/** Who asks, and the ids that tie the resulting events to this request. */
export interface CommandContext {
  readonly actor: string;
  readonly correlationId: string;
  readonly traceparent?: string;
  /** Scoped to the principal by the API; a retry with the same key appends nothing. */
  readonly idempotencyKey?: string;
  /** From `If-Match`: the stream version the client last saw. */
  readonly expectedVersion?: ExpectedVersion;
}

export interface CommandResult {
  readonly streamId: string;
  /** The stream's version after the command (the resource's ETag). */
  readonly streamVersion: number;
  readonly lastGlobalPosition: number;
  readonly duplicate: boolean;
}

export interface UploadFileInput {
  readonly fileId: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly mediaType: MediaType;
  readonly width: number;
  readonly height: number;
  readonly bitDepth: 8 | 16;
  readonly channels: number;
  readonly originalName: string;
  readonly tags: readonly string[];
}

export interface RequestInspectionInput {
  readonly inspectionId: string;
  readonly fileId: string;
  /** Defaults to the deployment's traffic split when absent. */
  readonly modelName?: string;
  /** Pins a version (reason 'explicit'); absent = chosen by the traffic split. */
  readonly modelVersion?: string;
  readonly thresholds?: Partial<Thresholds>;
}

export interface RegisterModelInput {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly outputLayout: 'yolo' | 'yolo-nms';
  readonly classes: readonly string[];
  readonly inputSize: { readonly width: number; readonly height: number };
  readonly metrics: Readonly<Record<string, number>>;
  readonly description: string;
}

export type ReviewVerdict = 'confirmed' | 'rejected' | 'relabelled';
export type AccessAction = 'audit.export' | 'audit.verify' | 'audit.replay' | 'aggregate.as-of' | 'events.tail';

/**
 * The write side as the API calls it: one method per command. Each validates, decides against the
 * aggregate's current state and appends; domain rule violations and concurrency conflicts are thrown
 * as typed errors (mapped to problem responses by `api/http/problem-mapping.ts`).
 */
export interface ApiCommands {
  uploadFile(input: UploadFileInput, ctx: CommandContext): Promise<CommandResult>;
  tagFile(
    input: { fileId: string; added: readonly string[]; removed: readonly string[] },
    ctx: CommandContext,
  ): Promise<CommandResult>;
  deleteFile(input: { fileId: string; reason: string }, ctx: CommandContext): Promise<CommandResult>;

  requestInspection(input: RequestInspectionInput, ctx: CommandContext): Promise<CommandResult>;
  reviewDetection(
    input: {
      inspectionId: string;
      detectionId: string;
      verdict: ReviewVerdict;
      newClassName: string | null;
      comment: string | null;
    },
    ctx: CommandContext,
  ): Promise<CommandResult>;
  closeInspection(
    input: { inspectionId: string; outcome: 'accepted' | 'rejected' | 'inconclusive'; note: string | null },
    ctx: CommandContext,
  ): Promise<CommandResult>;

  registerModel(input: RegisterModelInput, ctx: CommandContext): Promise<CommandResult>;
  deployModel(
    input: { name: string; version: string; weights: TrafficWeights; canary: boolean; thresholds?: Thresholds },
    ctx: CommandContext,
  ): Promise<CommandResult>;
  shiftTraffic(
    input: { name: string; weights: TrafficWeights; reason: string | null },
    ctx: CommandContext,
  ): Promise<CommandResult>;
  rollbackModel(
    input: { name: string; fromVersion: string; toVersion: string; reason: string },
    ctx: CommandContext,
  ): Promise<CommandResult>;
  retireModel(
    input: { name: string; version: string; reason: string | null },
    ctx: CommandContext,
  ): Promise<CommandResult>;
  startShadow(input: { name: string; version: string }, ctx: CommandContext): Promise<CommandResult>;
  stopShadow(input: { name: string; version: string }, ctx: CommandContext): Promise<CommandResult>;

  registerUser(
    input: { userId: string; email: string; displayName: string },
    ctx: CommandContext,
  ): Promise<CommandResult>;
  grantRole(input: { userId: string; role: Role }, ctx: CommandContext): Promise<CommandResult>;
  revokeRole(input: { userId: string; role: Role }, ctx: CommandContext): Promise<CommandResult>;
  issueApiKey(
    input: { userId: string; keyId: string; secretSha256: string; label: string; expiresAt: string | null },
    ctx: CommandContext,
  ): Promise<CommandResult>;
  revokeApiKey(input: { userId: string; keyId: string }, ctx: CommandContext): Promise<CommandResult>;

  /** AccessRecorded on today's access stream; called for allowed and denied sensitive reads. */
  recordAccess(
    input: { action: AccessAction; resource: string; decision: 'allowed' | 'denied'; reason: string | null },
    ctx: CommandContext,
  ): Promise<CommandResult>;
}
