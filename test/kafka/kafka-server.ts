import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const launcher = fileURLToPath(new URL('../../infra/local/kafka.sh', import.meta.url));

/** A broker started by infra/local/kafka.sh: the shared one, or a named instance a suite may stop and start. */
export interface LocalKafka {
  readonly brokers: string[];
  /** Starts it unless it runs (idempotent); resolves once it answers. */
  start(): Promise<void>;
  /** Stops it and waits until the process has exited. */
  stop(): Promise<void>;
  isRunning(): Promise<boolean>;
}

export interface LocalKafkaOptions {
  /** Omit for the shared broker on 127.0.0.1:9092; name one to get an independent broker. */
  readonly instance?: string;
  readonly port?: number;
  readonly controllerPort?: number;
}

export function localKafka(options: LocalKafkaOptions = {}): LocalKafka {
  const port = options.port ?? 9092;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(options.controllerPort ?? port + 1),
  };
  if (options.instance) env.KAFKA_INSTANCE = options.instance;
  else delete env.KAFKA_INSTANCE;
  const launch = (command: 'start' | 'stop' | 'status') => run('bash', [launcher, command], { env, timeout: 240_000 });
  return {
    brokers: [`127.0.0.1:${port}`],
    async start() {
      await launch('start');
    },
    async stop() {
      await launch('stop');
    },
    async isRunning() {
      try {
        await launch('status');
        return true;
      } catch {
        return false;
      }
    },
  };
}

/**
 * The shared test broker: KAFKA_BROKERS when set (a broker someone else runs), otherwise the local
 * one, started if it is not running. Never stopped by tests: other suites use it too.
 */
export async function sharedKafka(): Promise<string[]> {
  const configured = process.env.KAFKA_BROKERS;
  if (configured) return configured.split(',').map((b) => b.trim());
  const kafka = localKafka();
  await kafka.start();
  return kafka.brokers;
}
