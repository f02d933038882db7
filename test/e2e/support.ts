import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const CHITTI = fileURLToPath(new URL('../../cli/chitti.mjs', import.meta.url));
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/** Environment for a child `chitti` without any of the distributed settings of the parent. */
export function isolatedEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['DATABASE_URL', 'KAFKA_BROKERS', 'ELASTICSEARCH_URL', 'REDIS_URL', 'CHITTI_ENV'])
    delete env[name];
  return { ...env, LOG_LEVEL: 'info', ...extra };
}

export interface ChittiProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startChitti(args: string[], env: NodeJS.ProcessEnv): ChittiProcess {
  const child = spawn(process.execPath, [CHITTI, ...args], { env, cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  return {
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

export async function runChitti(args: string[], env: NodeJS.ProcessEnv) {
  const process_ = startChitti(args, env);
  const [code] = (await once(process_.child, 'exit')) as [number | null];
  return { code, output: process_.output() };
}

export async function waitUntilReady(url: string, chitti: ChittiProcess, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (chitti.child.exitCode !== null) throw new Error(`chitti exited early:\n${chitti.output()}`);
    try {
      const response = await fetch(`${url}/health/ready`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`chitti did not become ready:\n${chitti.output()}`);
}
