import pg from 'pg';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { createTestDatabase } from '../support/pg.js';
import { describeEventStoreConformance } from './event-store.conformance.js';

describeEventStoreConformance('PostgreSQL', async () => {
  const database = await createTestDatabase('chitti_conf');
  const pool = new pg.Pool({ connectionString: database.url, max: 8 });
  await migrate(pool);
  const store = new PostgresEventStore(pool);
  return {
    store,
    async close() {
      await store.close();
      await pool.end();
      await database.drop();
    },
  };
});
