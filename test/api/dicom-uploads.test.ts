import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOP_CLASS } from '../../inference/dicom/uids.js';
import { greyDicom, objectWithoutPixels, ramp, TRANSFER_SYNTAX, testUid } from '../support/dicom.js';
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

beforeAll(async () => {
  api = await startFullApi({ jwtKeys: [KEY_A], maxImagePixels: 1_000_000, maxUploadBytes: 2_000_000 });
  ({ backend, server } = api);
  const operator = await seedUser(backend, ['operator']);
  token = (await tokensFor(server.url, operator.apiKey)).accessToken;
});

afterAll(() => api?.close());

const upload = (body: Uint8Array, query = '', contentType = 'application/dicom') =>
  fetch(`${server.url}/v1/files${query}`, {
    method: 'POST',
    headers: { ...bearer(token), 'content-type': contentType, 'x-file-name': 'weld.dcm' },
    body,
  });

/** A 16-bit DICONDE radiograph header as a flat-panel system writes one, with personal names in it. */
const diconde = (over: Partial<Parameters<typeof greyDicom>[0]> = {}, options = {}) =>
  greyDicom(
    {
      rows: 48,
      columns: 64,
      bitsAllocated: 16,
      stored: ramp(48 * 64, 1000, 60000),
      imagerPixelSpacing: [0.2, 0.2],
      manufacturer: 'Panel Co',
      manufacturerModelName: 'FP-2020',
      acquisitionDate: '20261120',
      acquisitionTime: '091403',
      presentationLutShape: 'IDENTITY',
      window: { center: 40000, width: 2 },
      component: { id: 'PIPE-7-W42', name: 'Pipe 7 weld 42' },
      operatorsName: 'Doe^Jane',
      referringPhysicianName: 'Roe^Richard',
      ...over,
    },
    options,
  );

const eventsWritten = async (work: () => Promise<unknown>): Promise<number> => {
  const before = await backend.store.headPosition();
  await work();
  return (await backend.store.headPosition()) - before;
};

describe('DICOM uploads', () => {
  it('accepts a 16-bit DICONDE file and records its spacing and allow-listed header, no personal names', async () => {
    const bytes = diconde();
    const response = await upload(bytes);
    expect(response.status).toBe(201);
    const body = await json(response);
    expect(body).toMatchObject({
      mediaType: 'application/dicom',
      width: 64,
      height: 48,
      bitDepth: 16,
      channels: 1,
      originalName: 'weld.dcm',
      pixelSpacingMm: { row: 0.2, column: 0.2 },
      dicom: {
        sopClassUid: SOP_CLASS.digitalXRayForPresentation,
        transferSyntaxUid: TRANSFER_SYNTAX.explicitLittle,
        modality: 'DX',
        manufacturer: 'Panel Co',
        manufacturerModelName: 'FP-2020',
        acquired: { at: '2026-11-20T09:14:03', source: 'AcquisitionDate' },
        photometricInterpretation: 'MONOCHROME2',
        presentationLutShape: 'IDENTITY',
        voiWindow: { center: 40000, width: 2, used: false },
        pixelSpacingTag: 'ImagerPixelSpacing',
        component: { id: 'PIPE-7-W42', name: 'Pipe 7 weld 42' },
      },
    });
    const [event] = await backend.store.readStream(`file-${body.fileId}`);
    expect(event).toMatchObject({ type: 'FileUploaded', schemaVersion: 2, data: { dicom: body.dicom } });
    const everywhere = JSON.stringify([event, body, backend.logLines]);
    expect(everywhere).not.toMatch(/Doe|Jane|Roe|Richard/);

    await api.runner.caughtUp();
    const file = await json(await fetch(`${server.url}/v1/files/${body.fileId}`, { headers: bearer(token) }));
    expect(file).toMatchObject({ pixelSpacingMm: { row: 0.2, column: 0.2 }, dicom: { modality: 'DX' } });
  });

  it('recognises the same SOP Instance UID: same bytes answer 200 with the first file, other bytes 409', async () => {
    const sopInstanceUid = testUid();
    const bytes = diconde({ sopInstanceUid });
    const first = await json(await upload(bytes));
    let again: Response | undefined;
    expect(
      await eventsWritten(async () => {
        again = await upload(bytes, '?name=renamed.dcm');
      }),
    ).toBe(0);
    expect(again!.status).toBe(200);
    expect(await json(again!)).toMatchObject({ fileId: first.fileId, originalName: 'weld.dcm', existing: true });

    const changed = diconde({ sopInstanceUid, stored: ramp(48 * 64, 0, 9) });
    let conflict: Response | undefined;
    expect(
      await eventsWritten(async () => {
        conflict = await upload(changed);
      }),
    ).toBe(0);
    expect(conflict!.status).toBe(409);
    const problem = await json(conflict!);
    expect(problem).toMatchObject({ fileId: first.fileId, sopInstanceUid, code: 'file.already-exists' });
    expect(problem.detail).toContain(`DICOM instance ${sopInstanceUid} was uploaded as file '${first.fileId}'`);
  });

  it('records one file when the same instance arrives twice at once', async () => {
    const bytes = diconde({ sopInstanceUid: testUid() });
    const responses = await Promise.all([upload(bytes), upload(bytes), upload(bytes)]);
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 201]);
    const bodies = await Promise.all(responses.map((r) => json(r)));
    expect(new Set(bodies.map((b) => b.fileId)).size).toBe(1);
    expect(await backend.store.readStream(`file-${bodies[0].fileId}`)).toHaveLength(1);
  });

  it('takes every uncompressed transfer syntax, with or without the preamble', async () => {
    for (const options of [
      { transferSyntaxUid: TRANSFER_SYNTAX.implicitLittle },
      { transferSyntaxUid: TRANSFER_SYNTAX.explicitBig },
      { transferSyntaxUid: TRANSFER_SYNTAX.deflatedExplicitLittle },
      { transferSyntaxUid: TRANSFER_SYNTAX.explicitLittle, preamble: false },
    ]) {
      const response = await upload(diconde({}, options), '', 'application/octet-stream');
      expect({ options, status: response.status }).toEqual({ options, status: 201 });
      expect((await json(response)).dicom.transferSyntaxUid).toBe(options.transferSyntaxUid);
    }
  });

  const small = { rows: 8, columns: 8, bitsAllocated: 16 as const, stored: ramp(64, 0, 100) };
  const refusals: [string, () => Uint8Array, number, string, RegExp][] = [
    [
      'a truncated file',
      () => {
        const bytes = greyDicom(small);
        return bytes.subarray(0, bytes.length - 20);
      },
      422,
      'corrupt-image',
      /pixel data element claims 128 bytes/,
    ],
    [
      'a preamble without DICM',
      () => greyDicom(small, { prefix: 'DICX' }),
      422,
      'corrupt-image',
      /preamble is not followed by "DICM"/,
    ],
    [
      'a pixel data element longer than the file',
      () => greyDicom(small, { pixelDataLengthField: 0x7ffffff0 }),
      422,
      'corrupt-image',
      /claims 2147483632 bytes/,
    ],
    [
      '65535×65535 in the header',
      () => greyDicom({ ...small, rows: 65535, columns: 65535, writtenSamples: 64 }),
      422,
      'image-too-large',
      /65535×65535 pixels, more than the limit of 1000000/,
    ],
    ['a structured report', () => objectWithoutPixels(SOP_CLASS.basicTextSr), 415, 'not-an-image', /Structured Report/],
    ['a waveform', () => objectWithoutPixels(SOP_CLASS.twelveLeadEcg), 415, 'not-an-image', /Waveform/],
    [
      'JPEG Lossless',
      () => greyDicom(small, { transferSyntaxUid: TRANSFER_SYNTAX.jpegLossless }),
      415,
      'unsupported-transfer-syntax',
      /JPEG Lossless SV1 \(1\.2\.840\.10008\.1\.2\.4\.70\)/,
    ],
    [
      'multi-frame',
      () => greyDicom({ ...small, stored: ramp(128, 0, 9), frames: 2 }),
      415,
      'multi-frame-dicom',
      /holds 2 frames/,
    ],
  ];
  it.each(refusals)(
    'refuses %s with a problem naming the reason, writing nothing',
    async (_what, make, status, slug, detail) => {
      let response: Response | undefined;
      expect(
        await eventsWritten(async () => {
          response = await upload(make());
        }),
      ).toBe(0);
      expect(response!.status).toBe(status);
      expect(response!.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const problem = await json(response!);
      expect(problem.type).toBe(`https://chitti.dev/problems/${slug}`);
      expect(problem.detail).toMatch(detail);
    },
  );

  it('refuses PNG bytes declared as application/dicom', async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .png()
      .toBuffer();
    const response = await upload(png);
    expect(response.status).toBe(422);
    expect((await json(response)).detail).toBe('declared application/dicom but the content is image/png');
  });
});

describe('pixel spacing given at upload', () => {
  let png: Buffer;
  beforeAll(async () => {
    png = await sharp({ create: { width: 16, height: 8, channels: 3, background: { r: 90, g: 90, b: 90 } } })
      .png()
      .toBuffer();
  });

  it.each([
    ['0.1', { row: 0.1, column: 0.1 }],
    ['0.1,0.12', { row: 0.1, column: 0.12 }],
  ])('records ?pixelSpacingMm=%s for a PNG', async (value, expected) => {
    const response = await upload(png, `?pixelSpacingMm=${value}`, 'image/png');
    expect(response.status).toBe(201);
    const body = await json(response);
    expect(body.pixelSpacingMm).toEqual(expected);
    const [event] = await backend.store.readStream(`file-${body.fileId}`);
    expect(event?.data).toMatchObject({ pixelSpacingMm: expected });
  });

  it('records no spacing when none is given', async () => {
    const body = await json(await upload(png, '', 'image/png'));
    expect(body).not.toHaveProperty('pixelSpacingMm');
  });

  it.each(['0', '0.0001', '11', 'abc', '0.1,0.2,0.3', '-1'])(
    'refuses ?pixelSpacingMm=%s, writing nothing',
    async (value) => {
      let response: Response | undefined;
      expect(
        await eventsWritten(async () => {
          response = await upload(png, `?pixelSpacingMm=${encodeURIComponent(value)}`, 'image/png');
        }),
      ).toBe(0);
      expect(response!.status).toBeGreaterThanOrEqual(400);
      expect(response!.status).toBeLessThan(500);
      expect(JSON.stringify(await json(response!))).toContain('pixelSpacingMm');
    },
  );

  it('accepts a DICOM file’s own spacing again and refuses a contradicting one', async () => {
    expect((await upload(diconde(), '?pixelSpacingMm=0.2')).status).toBe(201);
    const response = await upload(diconde(), '?pixelSpacingMm=0.1');
    expect(response.status).toBe(422);
    expect(await json(response)).toMatchObject({
      type: 'https://chitti.dev/problems/pixel-spacing-conflict',
      detail: 'pixelSpacingMm=0.1,0.1 but the DICOM header gives 0.2,0.2',
    });
  });

  it('takes the spacing given for a DICOM file without one', async () => {
    const response = await upload(diconde({ imagerPixelSpacing: undefined }), '?pixelSpacingMm=0.15');
    expect(response.status).toBe(201);
    const body = await json(response);
    expect(body.pixelSpacingMm).toEqual({ row: 0.15, column: 0.15 });
    expect(body.dicom.pixelSpacingTag).toBeNull();
  });
});
