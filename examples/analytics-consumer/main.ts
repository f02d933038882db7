// Runs the example analytics consumer and prints the defect rates every few seconds.
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/analytics KAFKA_BROKERS=127.0.0.1:9092 \
//     node --import tsx examples/analytics-consumer/main.ts
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { startAnalyticsConsumer } from './consumer.js';
import { defectRates } from './defect-rates.js';

const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const kafka = new Kafka({ clientId: 'analytics-defect-rates', brokers, logLevel: logLevel.WARN });

const consumer = await startAnalyticsConsumer({ kafka, pool, topicPrefix: process.env.TOPIC_PREFIX });
const timer = setInterval(async () => {
  const rates = await defectRates(pool);
  console.table(rates.map((r) => ({ ...r, rate: r.rate.toFixed(3) })));
}, 5_000);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    clearInterval(timer);
    await consumer.stop();
    await pool.end();
  });
}
