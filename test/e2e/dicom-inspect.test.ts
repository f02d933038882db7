import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxSizeMm } from '../../domain/inspection/physical-size.js';
import { type ChittiProcess, freePort, isolatedEnv, runChitti, startChitti, waitUntilReady } from './support.js';

/** The README's first-use walkthrough with the DICOM sample the project makes itself. */
describe('chitti inspect on the DICONDE sample (README first use)', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let url: string;
  let chitti: ChittiProcess | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'chitti-e2e-dicom-'));
    await chmod(dataDir, 0o711); // the embedded server's own user must pass through it
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    env = isolatedEnv({ CHITTI_DATA_DIR: dataDir, PORT: String(port), EMBEDDED_PG_PORT: String(await freePort()) });
  });

  afterAll(async () => {
    await chitti?.stop('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('prints the detections with their size in mm, and knows the instance when it comes again', async () => {
    chitti = startChitti(['start'], env);
    await waitUntilReady(url, chitti);
    const sample = 'inference/samples/weld-9000000.dcm';

    const printed = await runChitti(['inspect', sample, '--url', url, '--timeout', '120'], env);
    expect(printed.code, printed.output).toBe(0);
    expect(printed.output).toMatch(
      /uploaded {3}weld-9000000\.dcm → file [0-9a-f-]{36} \(354×241, 0\.1 mm\/pixel, DICOM DX component SAMPLE-9000000/,
    );
    expect(printed.output).toMatch(/detected /);
    const sizes = printed.output.match(/\] {2}\d+\.\d\d × \d+\.\d\d mm, \d+\.\d\d mm²/g) ?? [];
    expect(sizes.length, printed.output).toBeGreaterThan(0);

    const again = await runChitti(['inspect', sample, '--url', url, '--json', '--timeout', '120'], env);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain('uploaded before');
    const inspection = JSON.parse(again.output.slice(again.output.indexOf('{'))) as {
      status: string;
      detections: {
        role: string;
        box: { x1: number; y1: number; x2: number; y2: number };
        size: { lengthMm: number; widthMm: number; areaMm2: number } | null;
      }[];
    };
    expect(inspection.status).toBe('detected');
    const live = inspection.detections.filter((d) => d.role === 'live');
    expect(live.length).toBeGreaterThan(0);
    for (const d of live) expect(d.size).toEqual(boxSizeMm(d.box, { row: 0.1, column: 0.1 }));
    expect(await chitti.stop('SIGTERM')).toBe(0);
  }, 240_000); // two inspections and a start of embedded PostgreSQL, on a busy machine
});
