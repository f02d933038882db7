import type pg from 'pg';
import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';

/**
 * What every process reports besides its own work: prom-client's default Node.js metrics (CPU,
 * resident memory, heap, event loop lag, GC durations, handles, open file descriptors) and its
 * PostgreSQL pool (connections in use, idle, and callers waiting for one: a pool too small for
 * the load shows as waiting > 0).
 */
export function registerProcessMetrics(registry: Registry, pool: pg.Pool): void {
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  new Gauge({
    name: 'chitti_db_pool_connections',
    help: 'PostgreSQL pool of this process: total, idle and in-use connections, and callers waiting for one',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
}
