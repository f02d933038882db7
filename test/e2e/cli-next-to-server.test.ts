import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHITTI,
  type ChittiProcess,
  freePort,
  isolatedEnv,
  REPO,
  runNode,
  startChitti,
  stopLeftoverPostgres,
  waitUntilReady,
} from './support.js';

/** A one-off command with stdout and stderr kept apart: stdout must be data only. */
const oneOff = (args: string[], env: NodeJS.ProcessEnv) => runNode([CHITTI, ...args], env);

describe('one-off commands next to a running chitti start on the same data folder', () => {
  let dataDir: string;
  let url: string;
  let serverEnv: NodeJS.ProcessEnv;
  /** Another EMBEDDED_PG_PORT than the server's: the port must come from the running instance. */
  let cliEnv: NodeJS.ProcessEnv;
  let chitti: ChittiProcess | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'chitti-e2e-cli-'));
    await chmod(dataDir, 0o711); // the embedded server's own user must pass through it
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    serverEnv = isolatedEnv({
      CHITTI_DATA_DIR: dataDir,
      PORT: String(port),
      EMBEDDED_PG_PORT: String(await freePort()),
    });
    cliEnv = { ...serverEnv, EMBEDDED_PG_PORT: String(await freePort()), LOG_LEVEL: 'debug' };
    chitti = startChitti(['start'], serverEnv);
    await waitUntilReady(url, chitti);
  }, 240_000);

  afterAll(async () => {
    await chitti?.stop('SIGTERM');
    await stopLeftoverPostgres(dataDir);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('audit export writes NDJSON on stdout, every line an event or a seal record, its logs on stderr', async () => {
    const { code, stdout, stderr } = await oneOff(['audit', 'export'], cliEnv);
    expect(code, stderr).toBe(0);
    const all = stdout.trimEnd().split('\n');
    // After the events come the seals over them and their public keys (docs/integrity.md).
    const records = all.filter((l) => 'record' in JSON.parse(l));
    for (const record of records) expect(['seal-key', 'seal']).toContain(JSON.parse(record).record);
    const lines = all.filter((l) => !('record' in JSON.parse(l)));
    expect(lines.length).toBeGreaterThan(2); // the bootstrap admin and model events at least
    for (const line of lines) {
      const event = JSON.parse(line) as Record<string, unknown>;
      expect(typeof event.type).toBe('string');
      expect(typeof event.globalPosition).toBe('number');
      expect(event).not.toHaveProperty('msg'); // no pino line
    }
    expect(lines.map((l) => JSON.parse(l).type)).toContain('UserRegistered');
    // Logs went to stderr, as JSON (stderr is a pipe here), and say whose server was used.
    const logs = stderr
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string });
    expect(logs.map((l) => l.msg)).toContain('using the embedded PostgreSQL of the running Chitti');
  });

  it('audit verify, projections status, events tail and migrate use the running database; the server keeps serving', async () => {
    const verify = await oneOff(['audit', 'verify', '--seal'], cliEnv);
    expect(verify.code, verify.stderr).toBe(0);
    expect((JSON.parse(verify.stdout) as { ok: boolean }).ok).toBe(true);

    const status = await oneOff(['projections', 'status'], cliEnv);
    expect(status.code, status.stderr).toBe(0);
    const rows = JSON.parse(status.stdout) as { name: string; head: number }[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0]!.head).toBeGreaterThan(0);

    const migrate = await oneOff(['migrate'], cliEnv);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stdout).toBe('');

    const tail = spawn(process.execPath, [CHITTI, 'events', 'tail', '--from', '1'], {
      env: cliEnv,
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tailed = '';
    tail.stdout.on('data', (chunk) => {
      tailed += String(chunk);
    });
    const deadline = Date.now() + 60_000;
    while (!tailed.includes('\n') && Date.now() < deadline && tail.exitCode === null)
      await new Promise((r) => setTimeout(r, 200));
    tail.kill('SIGTERM');
    const [tailCode] = (await once(tail, 'exit')) as [number | null];
    expect(tailCode).toBe(0);
    const first = JSON.parse(tailed.split('\n')[0]!) as { globalPosition: number };
    expect(first.globalPosition).toBe(1);

    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
  }, 180_000);

  it('exit code 2 for a usage error, 3 when the database cannot be reached, each saying what to do', async () => {
    const usage = await oneOff(['audit', 'frobnicate'], cliEnv);
    expect(usage.code).toBe(2);
    expect(usage.stdout).toBe('');
    expect(usage.stderr).toMatch(/chitti audit verify/);

    const unknownOption = await oneOff(['projections', 'status', '--bogus'], cliEnv);
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.stderr).toMatch(/--bogus/);

    const closedPort = await freePort();
    const down = await oneOff(['audit', 'verify'], {
      ...cliEnv,
      DATABASE_URL: `postgres://postgres@127.0.0.1:${closedPort}/chitti`,
    });
    expect(down.code).toBe(3);
    expect(down.stdout).toBe('');
    expect(down.stderr).toMatch(/cannot reach PostgreSQL \(DATABASE_URL\).*check that it runs/);
    expect(down.stderr).not.toMatch(/at .*\.ts:\d+/); // one line, no stack
  });
});
