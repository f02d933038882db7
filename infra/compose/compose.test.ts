import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('docker-compose stack', () => {
  it('validates without an engine: config, required services, no default secrets, assets, Dockerfile', async () => {
    const { stdout } = await run('bash', ['infra/compose/validate.sh'], { timeout: 60_000 });
    expect(stdout).toContain('compose validation: ok');
    for (const service of ['api', 'relay', 'projector', 'inference-1', 'inference-2', 'kafka', 'elasticsearch']) {
      expect(stdout).toContain(service);
    }
  });
});
