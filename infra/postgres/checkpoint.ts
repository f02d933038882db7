import type pg from 'pg';
import type { SourceCheckpoint } from '../../inference/ports/source-checkpoint.js';

/** A named resume position in `chitti_checkpoints`; it never moves backwards. */
export class PostgresCheckpoint implements SourceCheckpoint {
  constructor(
    private readonly pool: pg.Pool,
    private readonly name: string,
  ) {}

  async load(): Promise<number> {
    const { rows } = await this.pool.query<{ position: string }>(
      'SELECT position FROM chitti_checkpoints WHERE name = $1',
      [this.name],
    );
    return Number(rows[0]?.position ?? 0);
  }

  async save(position: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO chitti_checkpoints (name, position) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET position = GREATEST(chitti_checkpoints.position, EXCLUDED.position), updated_at = now()`,
      [this.name, position],
    );
  }
}
