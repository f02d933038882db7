import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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
  // METRICS_PORT 0: each process its own free port, so suites running side by side never clash on 9464.
  return { ...env, LOG_LEVEL: 'info', METRICS_PORT: '0', ...extra };
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

/** Runs `node ARGS` to its end with stdout and stderr kept apart (stdout must be data only). */
export async function runNode(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, args, { env, cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += String(chunk);
  });
  child.stderr.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

export async function runChitti(args: string[], env: NodeJS.ProcessEnv) {
  const process_ = startChitti(args, env);
  const [code] = (await once(process_.child, 'exit')) as [number | null];
  return { code, output: process_.output() };
}

/** Polls a condition (a state, never a duration) until it holds or the deadline passes. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
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

/** Whether a process runs (a zombie, exited but not yet collected by its parent, does not). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return !/^\d+ \(.*\) Z/.test(readProcStat(pid));
}

function readProcStat(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return '';
  }
}

/** The pid of the embedded PostgreSQL of a data folder, from its lock file. */
export async function postmasterPid(dataDir: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(
      (await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]!,
      10,
    );
    return Number.isSafeInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * After a suite that may have killed Chitti with SIGKILL (or failed half-way): stop the embedded
 * server its data folder still runs, so no PostgreSQL outlives the suite.
 */
export async function stopLeftoverPostgres(dataDir: string): Promise<void> {
  const pid = await postmasterPid(dataDir);
  if (pid === undefined || !isRunning(pid)) return;
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 60_000;
  while (isRunning(pid) && Date.now() < deadline) await sleep(100);
  if (isRunning(pid)) process.kill(pid, 'SIGKILL');
}
