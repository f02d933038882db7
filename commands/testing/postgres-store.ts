import pg from 'pg';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { createTestDatabase } from '../../test/support/pg.js';

/** The real PostgreSQL event store on a fresh database, for handler suites. */
export async function startTestStore() {
  const db = await createTestDatabase('chitti_cmd');
  const pool = new pg.Pool({ connectionString: db.url, max: 8 });
  await migrate(pool);
  const store = new PostgresEventStore(pool);
  return {
    store,
    pool,
    async stop() {
      await store.close();
      await pool.end();
      await db.drop();
    },
  };
}

let counter = 0;
/** Ids unique within a suite run, so tests in one database never share streams. */
export const uniqueId = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

export { fileUpload } from './file-upload.js';
