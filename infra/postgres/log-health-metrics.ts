import type pg from 'pg';
import { Gauge, type Registry } from 'prom-client';

/**
 * Gauges read from the event store at scrape time, so one scraped process (the API) reports
 * progress every process makes through the log: the relay's lag behind the head and how far the
 * seals trail it. A failed query leaves the previous values; the scrape itself never fails.
 */
export function registerLogHealthMetrics(registry: Registry, pool: pg.Pool): void {
  let pending: Promise<void> | undefined;
  let relays: { relay: string; lag: number }[] = [];
  let unsealed = 0;
  let sealAgeSeconds = 0;
  const refresh = () => {
    pending ??= (async () => {
      try {
        const head = await pool.query<{ head: string; sealed: string; age: number | null }>(
          `SELECT (SELECT position FROM event_log_head) AS head,
                  (SELECT coalesce(max(to_position), 0) FROM seals) AS sealed,
                  (SELECT extract(epoch FROM now() - max(sealed_at))::float8 FROM seals) AS age`,
        );
        const row = head.rows[0]!;
        unsealed = Number(row.head) - Number(row.sealed);
        // Age only matters while something waits to be sealed; an idle log is not an alert.
        sealAgeSeconds = unsealed > 0 ? (row.age ?? 0) : 0;
        const checkpoints = await pool
          .query<{ relay: string; position: string }>('SELECT relay, position FROM kafka_integration.relay_checkpoints')
          .catch(() => ({ rows: [] }));
        relays = checkpoints.rows.map((r) => ({ relay: r.relay, lag: Number(row.head) - Number(r.position) }));
      } catch {
        // keep the last values
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };
  new Gauge({
    name: 'chitti_relay_lag_events',
    help: 'Events in the log not yet acknowledged by Kafka for this relay (head - relay checkpoint).',
    labelNames: ['relay'],
    registers: [registry],
    async collect() {
      await refresh();
      for (const { relay, lag } of relays) this.set({ relay }, lag);
    },
  });
  new Gauge({
    name: 'chitti_unsealed_events',
    help: 'Events after the last seal (head - last sealed position).',
    registers: [registry],
    async collect() {
      await refresh();
      this.set(unsealed);
    },
  });
  new Gauge({
    name: 'chitti_seal_age_seconds',
    help: 'Seconds since the last seal while events wait to be sealed; 0 when everything is sealed.',
    registers: [registry],
    async collect() {
      await refresh();
      this.set(sealAgeSeconds);
    },
  });
}
