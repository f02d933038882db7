import type { DataSet } from 'dicom-parser';
import type { DicomHeader } from '../../schemas/events/file.js';

const MAX_TEXT = 200;

/** A header string fit to record: control characters removed, trimmed, at most 200 characters; null when empty. */
export function headerText(value: string | undefined): string | null {
  if (value === undefined) return null;
  const cleaned = value
    .replace(/[\p{Cc}\p{Cf}]/gu, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
  return cleaned.length === 0 ? null : Array.from(cleaned).slice(0, MAX_TEXT).join('');
}

const DA = /^(\d{4})(\d{2})(\d{2})$/;
const TM = /^(\d{2})(\d{2})?(\d{2})?(\.\d{1,6})?$/;
const DT = /^(\d{8})(\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,6})?)?)?)?(?:[+-]\d{4})?$/;

function isoDate(da: string | undefined): string | undefined {
  const m = da?.trim().match(DA);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}

function isoTime(tm: string | undefined): string | undefined {
  const m = tm?.trim().match(TM);
  if (!m) return undefined;
  return `${m[1]}:${m[2] ?? '00'}${m[3] ? `:${m[3]}${m[4] ?? ''}` : ''}`;
}

function isoDateTime(date: string | undefined, time: string | undefined): string | undefined {
  const day = isoDate(date);
  if (!day) return undefined;
  const clock = isoTime(time);
  return clock ? `${day}T${clock}` : day;
}

/**
 * When the image was made, as the header says (local time, no zone): AcquisitionDateTime, else
 * AcquisitionDate/Time, else ContentDate/Time, else StudyDate/Time. Malformed values are skipped.
 */
export function readAcquired(dataSet: DataSet): DicomHeader['acquired'] {
  const dt = dataSet.string('x0008002a')?.trim().match(DT);
  if (dt) {
    const at = isoDateTime(dt[1], dt[2]);
    if (at) return { at, source: 'AcquisitionDateTime' };
  }
  const candidates = [
    ['x00080022', 'x00080032', 'AcquisitionDate'],
    ['x00080023', 'x00080033', 'ContentDate'],
    ['x00080020', 'x00080030', 'StudyDate'],
  ] as const;
  for (const [date, time, source] of candidates) {
    const at = isoDateTime(dataSet.string(date), dataSet.string(time));
    if (at) return { at, source };
  }
  return null;
}
