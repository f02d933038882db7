import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tiffWithLeadingIfd } from '../inference/support/tiff.js';
import {
  type Backend,
  bearer,
  type FullApi,
  json,
  KEY_A,
  type ServerUnderTest,
  seedUser,
  startFullApi,
  tokensFor,
} from './support/harness.js';

let api: FullApi;
let backend: Backend;
let server: ServerUnderTest;
let token: string;
let png: Buffer;

beforeAll(async () => {
  api = await startFullApi({
    jwtKeys: [KEY_A],
    maxImagePixels: 10_000_000,
    maxUploadBytes: 200_000,
    jsonBodyLimitBytes: 1024,
  });
  ({ backend, server } = api);
  const operator = await seedUser(backend, ['operator', 'reviewer']);
  token = (await tokensFor(server.url, operator.apiKey)).accessToken;
  png = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .png()
    .toBuffer();
});

afterAll(() => api?.close());

const upload = (body: Buffer | string, contentType: string, name = 'weld.png') =>
  fetch(`${server.url}/v1/files?name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { ...bearer(token), 'content-type': contentType },
    body,
  });

async function problemOf(response: Response) {
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = await json(response);
  expect(body.status).toBe(response.status);
  expect(body.correlationId).toBeTruthy();
  expect(JSON.stringify(body)).not.toMatch(/at .+\.(ts|js):\d+/); // never a stack trace
  return body;
}

describe('upload validation', () => {
  it('refuses text renamed .png with 415 naming what the bytes are not', async () => {
    const response = await upload('just some text, not an image', 'image/png', 'notes.png');
    expect(response.status).toBe(415);
    const problem = await problemOf(response);
    expect(problem.type).toBe('https://chitti.dev/problems/not-an-image');
    expect(problem.detail).toMatch(/not a PNG, JPEG, WebP, TIFF or DICOM image \(declared image\/png\)/);
  });

  it('refuses bytes that contradict the declared type (JPEG sent as PNG) with 422', async () => {
    const jpeg = await sharp(png).jpeg().toBuffer();
    const response = await upload(jpeg, 'image/png');
    expect(response.status).toBe(422);
    expect((await problemOf(response)).detail).toBe('declared image/png but the content is image/jpeg');
  });

  it('refuses a truncated PNG as corrupt', async () => {
    const response = await upload(png.subarray(0, Math.floor(png.length * 0.6)), 'image/png');
    expect(response.status).toBe(422);
    expect((await problemOf(response)).type).toBe('https://chitti.dev/problems/corrupt-image');
  });

  it('refuses a 30000×30000 header (decompression bomb) before decoding it', async () => {
    const bomb = Buffer.from(png);
    bomb.writeUInt32BE(30000, 16);
    bomb.writeUInt32BE(30000, 20);
    const response = await upload(bomb, 'application/octet-stream');
    expect(response.status).toBe(422);
    const problem = await problemOf(response);
    expect(problem.type).toBe('https://chitti.dev/problems/image-too-large');
  });

  it('refuses a TIFF cut short after an intact header (422, nothing written), and takes it whole', async () => {
    const tiff = tiffWithLeadingIfd(256, 256, 16);
    const before = await backend.store.headPosition();
    const response = await upload(tiff.subarray(0, Math.floor(tiff.length * 0.6)), 'image/tiff', 'scan.tif');
    expect(response.status).toBe(422);
    const problem = await problemOf(response);
    expect(problem.type).toBe('https://chitti.dev/problems/corrupt-image');
    expect(problem.detail).toMatch(/truncated or corrupt/);
    expect(await backend.store.headPosition()).toBe(before);
    const whole = await upload(tiff, 'image/tiff', 'scan.tif');
    expect(whole.status).toBe(201);
    expect(await json(whole)).toMatchObject({ mediaType: 'image/tiff', width: 256, height: 256, bitDepth: 16 });
  });

  it('applies the pixel limit inference decodes with: one pixel over is refused, the limit itself accepted', async () => {
    // The API under test runs with MAX_IMAGE_PIXELS = 10,000,000 (2500 × 4000).
    const grey = (width: number, height: number) =>
      sharp(Buffer.alloc(width * height, 80), { raw: { width, height, channels: 1 } })
        .png()
        .toBuffer();
    const before = await backend.store.headPosition();
    const over = await upload(await grey(2501, 4000), 'image/png');
    expect(over.status).toBe(422);
    expect((await problemOf(over)).type).toBe('https://chitti.dev/problems/image-too-large');
    expect(await backend.store.headPosition()).toBe(before);
    const at = await upload(await grey(2500, 4000), 'image/png');
    expect(at.status).toBe(201);
  });

  it('refuses an empty body', async () => {
    const response = await upload(Buffer.alloc(0), 'image/png');
    expect(response.status).toBe(422);
    await problemOf(response);
  });

  it('refuses a body over the upload limit with 413', async () => {
    const response = await upload(Buffer.alloc(300_000, 1), 'image/png');
    expect(response.status).toBe(413);
    expect((await problemOf(response)).type).toBe('https://chitti.dev/problems/payload-too-large');
  });

  it('refuses a non-image Content-Type with 415 before reading the body', async () => {
    const response = await upload(png, 'text/html');
    expect(response.status).toBe(415);
    await problemOf(response);
  });
});

describe('problem details for JSON endpoints', () => {
  const post = (path: string, body: string, contentType = 'application/json') =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { ...bearer(token), 'content-type': contentType }, body });

  it('answers malformed JSON with 400', async () => {
    const response = await post('/v1/inspections', '{"fileId": ');
    expect(response.status).toBe(400);
    expect((await problemOf(response)).type).toBe('https://chitti.dev/problems/malformed-json');
  });

  it('answers a schema violation with 422 and a pointer per issue', async () => {
    const response = await post('/v1/inspections/i1/close', JSON.stringify({ outcome: 'maybe' }));
    expect(response.status).toBe(422);
    const problem = await problemOf(response);
    expect(problem.errors).toEqual([expect.objectContaining({ pointer: 'body/outcome' })]);
  });

  it('answers a form-encoded body with 415', async () => {
    const response = await post('/v1/inspections', 'fileId=x', 'application/x-www-form-urlencoded');
    expect(response.status).toBe(415);
  });

  it('answers a JSON body over the limit with 413', async () => {
    const response = await post('/v1/inspections', JSON.stringify({ fileId: 'x'.repeat(5000) }));
    expect(response.status).toBe(413);
  });

  it('answers a malformed If-Match with 400', async () => {
    const response = await fetch(`${server.url}/v1/inspections/i1/close`, {
      method: 'POST',
      headers: { ...bearer(token), 'content-type': 'application/json', 'if-match': 'seven' },
      body: JSON.stringify({ outcome: 'accepted' }),
    });
    expect(response.status).toBe(400);
  });
});
