import type pg from 'pg';

/** Where a relay remembers the last global position the broker acknowledged. */
export interface RelayCheckpointStore {
  /** 0 when the relay never published anything. */
  load(relay: string): Promise<number>;
  /** Never moves a checkpoint backwards. */
  save(relay: string, position: number): Promise<void>;
}

export class PostgresRelayCheckpoints implements RelayCheckpointStore {
  constructor(private readonly pool: pg.Pool) {}

  async load(relay: string): Promise<number> {
    const { rows } = await this.pool.query<{ position: string }>(
      'SELECT position FROM kafka_integration.relay_checkpoints WHERE relay = $1',
      [relay],
    );
    return rows[0] ? Number(rows[0].position) : 0;
  }

  async save(relay: string, position: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO kafka_integration.relay_checkpoints (relay, position) VALUES ($1, $2)
       ON CONFLICT (relay) DO UPDATE
         SET position = GREATEST(relay_checkpoints.position, EXCLUDED.position), updated_at = now()`,
      [relay, position],
    );
  }
}
