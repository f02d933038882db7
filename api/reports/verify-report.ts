import { createHash } from 'node:crypto';
import { streamIdOf } from '../../schemas/events/index.js';
import type { AggregateHistory, ApiQueries, AuditVerifier } from '../ports/queries.js';

export interface ReportVerification {
  /** Whether Chitti recorded issuing a file with exactly these bytes. */
  readonly issued: boolean;
  readonly reportSha256: string;
  readonly issuances: readonly {
    readonly inspectionId: string;
    readonly format: string;
    readonly asOf: string | null;
    readonly issuedBy: string;
    readonly issuedAt: string | null;
    readonly covers: { readonly streamVersion: number; readonly globalPosition: number; readonly eventHash: string };
  }[];
  /** Whether the history the report was made from still verifies; null when it was never issued. */
  readonly history: {
    readonly ok: boolean;
    /** The last event the report showed is still there with the same hash (so are all before it: they are chained). */
    readonly coveredEventStillRecorded: boolean;
    /** Every hash chain and seal of the log recomputes. */
    readonly auditOk: boolean;
    readonly detail: string;
  } | null;
}

/**
 * Was this exact file issued by Chitti, for which inspection and when, and does the history behind
 * it still verify? Used by `POST /v1/reports/verify` and `chitti report verify`.
 */
export async function verifyReport(
  deps: {
    readonly queries: Pick<ApiQueries, 'findIssuedReports'>;
    readonly history: AggregateHistory;
    readonly auditVerifier: AuditVerifier;
  },
  bytes: Uint8Array,
): Promise<ReportVerification> {
  const reportSha256 = createHash('sha256').update(bytes).digest('hex');
  const rows = (await deps.queries.findIssuedReports(reportSha256)) as unknown as ReportVerification['issuances'];
  if (rows.length === 0) return { issued: false, reportSha256, issuances: [], history: null };
  const issuances = rows.map(({ inspectionId, format, asOf, issuedBy, issuedAt, covers }) => ({
    inspectionId,
    format,
    asOf,
    issuedBy,
    issuedAt,
    covers,
  }));
  const { inspectionId, covers } = issuances[0]!;
  const events = await deps.history.events(streamIdOf('inspection', inspectionId), {
    toGlobalPosition: covers.globalPosition,
  });
  const covered = events.find((e) => e.streamVersion === covers.streamVersion);
  const coveredEventStillRecorded =
    covered?.hash === covers.eventHash && covered.globalPosition === covers.globalPosition;
  const audit = await deps.auditVerifier.verify();
  const detail = !coveredEventStillRecorded
    ? `event ${covers.streamVersion} of inspection-${inspectionId} is not the one the report was made from (hash ${covered?.hash ?? 'missing'}, expected ${covers.eventHash})`
    : audit.ok
      ? `the ${covers.streamVersion} events the report shows are recorded unchanged and the log verifies`
      : 'the log does not verify: run chitti audit verify for the first broken event';
  return {
    issued: true,
    reportSha256,
    issuances,
    history: { ok: coveredEventStillRecorded && audit.ok, coveredEventStillRecorded, auditOk: audit.ok, detail },
  };
}
