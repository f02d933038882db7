import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { loadConfig } from '../../infra/config.js';
import { ApiError, ChittiClient } from '../api-client.js';
import { parseOptions } from '../args.js';
import { readAdminApiKey } from '../bootstrap.js';
import { UsageError } from '../exit-codes.js';
import type { Subcommand } from '../subcommand.js';

const usage = `chitti inspect FILE [--url URL] [--api-key KEY] [--model NAME[@VERSION]] [--pixel-spacing MM[,MM]]
                     [--thresholds JSON] [--timeout SECONDS] [--json]
  Uploads an image (PNG, JPEG, WebP, TIFF or DICOM) to a running Chitti, requests an inspection,
  waits for the detections with progress on stderr, and prints them, with their size in mm when the
  pixel spacing is known (a DICOM header's, or --pixel-spacing: row[,column] mm per pixel).
  --thresholds overrides the deployed thresholds for this inspection, e.g.
  '{"confidence":0.4,"classConfidence":{"crack":0.3,"porosity":0.65}}' (classConfidence replaces
  the deployed per-class map). The key comes from --api-key, CHITTI_API_KEY, or the admin key that
  'chitti start' wrote under the data directory.`;

interface Detection {
  detectionId: string;
  role: string;
  className: string;
  score: number;
  box: { x1: number; y1: number; x2: number; y2: number };
  size: { lengthMm: number; widthMm: number; areaMm2: number } | null;
}
interface UploadedFile {
  fileId: string;
  width: number;
  height: number;
  existing?: boolean;
  pixelSpacingMm?: { row: number; column: number };
  dicom?: { modality: string | null; component: { id: string | null; name: string | null } | null };
}
interface Inspection {
  status: string;
  model: { name: string; version: string };
  selection: { reason: string };
  failure: { code: string; reason: string } | null;
  detections: Detection[];
}

function describeFile(file: UploadedFile): string {
  const parts = [`${file.width}×${file.height}`];
  if (file.pixelSpacingMm) {
    const { row, column } = file.pixelSpacingMm;
    parts.push(row === column ? `${row} mm/pixel` : `${row}×${column} mm/pixel`);
  } else parts.push('pixel spacing unknown: no sizes in mm');
  if (file.dicom) {
    const component = file.dicom.component;
    parts.push(
      ['DICOM', file.dicom.modality, component?.id && `component ${component.id}`, component?.name]
        .filter(Boolean)
        .join(' '),
    );
  }
  if (file.existing) parts.push('uploaded before');
  return parts.join(', ');
}

/** Length along the longer box side (the indication's length for cracks and lack of fusion), width, area. */
const describeSize = (d: Detection): string =>
  d.size ? `  ${d.size.lengthMm.toFixed(2)} × ${d.size.widthMm.toFixed(2)} mm, ${d.size.areaMm2.toFixed(2)} mm²` : '';

const FINAL = new Set(['detected', 'failed', 'closed']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const command: Subcommand = {
  summary: 'upload an image, wait for its inspection and print the detections',
  usage,
  async run(args) {
    const { positionals, values } = parseOptions(args, {
      url: { type: 'string' },
      'api-key': { type: 'string' },
      model: { type: 'string' },
      timeout: { type: 'string' },
      'pixel-spacing': { type: 'string' },
      thresholds: { type: 'string' },
      json: { type: 'boolean' },
    });
    const path = positionals[0];
    if (!path) throw new UsageError(usage);
    const config = loadConfig();
    const url = values.url ?? process.env.CHITTI_URL ?? `http://127.0.0.1:${config.PORT}`;
    const apiKey =
      values['api-key'] ?? process.env.CHITTI_API_KEY ?? (await readAdminApiKey(resolve(config.CHITTI_DATA_DIR)));
    if (!apiKey) throw new UsageError('no API key: pass --api-key or set CHITTI_API_KEY');
    let thresholds: unknown;
    if (values.thresholds !== undefined) {
      try {
        thresholds = JSON.parse(values.thresholds);
      } catch {
        throw new UsageError(`--thresholds is not JSON: ${values.thresholds}`);
      }
      if (thresholds === null || typeof thresholds !== 'object' || Array.isArray(thresholds))
        throw new UsageError('--thresholds must be a JSON object, e.g. \'{"classConfidence":{"crack":0.3}}\'');
    }
    const progress = (line: string) => process.stderr.write(`${line}\n`);
    const client = new ChittiClient(url, apiKey);
    const bytes = await readFile(path);
    try {
      const spacing = values['pixel-spacing'];
      const query = spacing ? `?pixelSpacingMm=${encodeURIComponent(spacing)}` : '';
      const file = await client.request<UploadedFile>('POST', `/v1/files${query}`, {
        body: bytes,
        headers: {
          'content-type': 'application/octet-stream',
          'x-file-name': encodeURIComponent(basename(path)),
          'idempotency-key': randomUUID(),
        },
      });
      progress(`uploaded   ${basename(path)} → file ${file.fileId} (${describeFile(file)})`);
      const [name, version] = (values.model ?? '').split('@');
      const requested = await client.request<{ inspectionId: string }>('POST', '/v1/inspections', {
        body: JSON.stringify({
          fileId: file.fileId,
          ...(name ? { model: { name, ...(version ? { version } : {}) } } : {}),
          ...(thresholds !== undefined ? { thresholds } : {}),
        }),
        headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      });
      progress(`requested  inspection ${requested.inspectionId}`);
      const deadline = Date.now() + Number(values.timeout ?? 60) * 1000;
      let last = '';
      let inspection: Inspection | undefined;
      while (Date.now() < deadline) {
        try {
          inspection = await client.request<Inspection>('GET', `/v1/inspections/${requested.inspectionId}`);
        } catch (error) {
          if (!(error instanceof ApiError && error.status === 404)) throw error; // read model not there yet
        }
        if (inspection && inspection.status !== last) {
          last = inspection.status;
          progress(
            `${last.padEnd(10)} ${inspection.model.name}@${inspection.model.version} (${inspection.selection.reason})`,
          );
        }
        if (inspection && FINAL.has(inspection.status)) break;
        await sleep(200);
      }
      if (!inspection || !FINAL.has(inspection.status)) {
        progress(`timed out waiting for inspection ${requested.inspectionId}`);
        return 1;
      }
      if (values.json) {
        process.stdout.write(`${JSON.stringify(inspection, null, 2)}\n`);
      } else if (inspection.failure) {
        process.stdout.write(`failed: ${inspection.failure.code}: ${inspection.failure.reason}\n`);
      } else {
        const live = inspection.detections.filter((d) => d.role === 'live');
        process.stdout.write(`${live.length} detection(s)\n`);
        for (const d of live) {
          const { x1, y1, x2, y2 } = d.box;
          const box = [x1, y1, x2, y2].map((v) => Math.round(v)).join(', ');
          process.stdout.write(
            `  ${d.detectionId.padEnd(4)} ${d.className.padEnd(18)} ${d.score.toFixed(3)}  [${box}]${describeSize(d)}\n`,
          );
        }
      }
      return inspection.status === 'failed' ? 1 : 0;
    } catch (error) {
      if (error instanceof ApiError) {
        process.stderr.write(`chitti inspect: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
  },
};
export default command;
