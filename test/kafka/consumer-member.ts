// A consumer-group member in its own process, so a test can SIGKILL it mid-batch.
// Env: DATABASE_URL, KAFKA_BROKERS, TOPIC, DEAD_LETTER_TOPIC, GROUP_ID, MEMBER, HANDLE_DELAY_MS.
import pg from 'pg';
import { runConsumer } from '../../infra/kafka/consumer.js';
import { PostgresDedupeStore } from '../../infra/kafka/dedupe.js';
import { testKafka } from './fixtures.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const member = env('MEMBER');
// Named, so a test can tell when this member's server sessions are gone after a kill.
const pool = new pg.Pool({ connectionString: env('DATABASE_URL'), max: 2, application_name: `member-${member}` });
const delayMs = Number(process.env.HANDLE_DELAY_MS ?? 0);

await runConsumer({
  kafka: testKafka(env('KAFKA_BROKERS').split(','), member),
  groupId: env('GROUP_ID'),
  topics: [env('TOPIC')],
  deadLetterTopic: env('DEAD_LETTER_TOPIC'),
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 500,
  dedupe: new PostgresDedupeStore(pool),
  handle: async (event, { tx, partition }) => {
    await tx.query('INSERT INTO effects (event_id, member, partition) VALUES ($1, $2, $3)', [
      event.id,
      member,
      partition,
    ]);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  },
});
process.stdout.write('running\n');
