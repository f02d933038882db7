import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HeadlessBrowser, launchChromium } from '../support/browser.js';
import { type ConsoleScenario, startConsoleScenario } from './console-scenario.js';
import { until } from './support.js';

/**
 * The auditor console in a real browser (Debian's chromium, headless) against a real `chitti
 * start` on PostgreSQL, which inspected the DICOM sample with the bundled model. Every wait is on
 * a condition in the page; timeouts are generous for a busy two-core machine.
 */
const WAIT = { timeout: 60_000 };

let scenario: ConsoleScenario;
let chromium: HeadlessBrowser;
let downloads: string;
/** CSP violations and uncaught errors, from every page: none is allowed. */
const pageErrors: string[] = [];

beforeAll(async () => {
  [scenario, chromium] = await Promise.all([startConsoleScenario(), launchChromium()]);
  downloads = await mkdtemp(join(tmpdir(), 'chitti-downloads-'));
}, 300_000);

afterAll(async () => {
  await chromium?.close();
  await scenario?.stop();
  if (downloads) await rm(downloads, { recursive: true, force: true });
});

async function openConsole(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT.timeout);
  page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) {
      pageErrors.push(message.text());
    }
  });
  await page.goto(`${scenario.url}/console`);
  return page;
}

async function signIn(page: Page, apiKey: string): Promise<void> {
  await page.waitForSelector('#api-key', { visible: true });
  await page.type('#api-key', apiKey);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#inspection-results table');
}

const text = (page: Page, selector: string) => page.$eval(selector, (element) => element.textContent ?? '');
const rowCount = (page: Page) => page.$$eval('#detections tbody tr', (rows) => rows.length);

/** A finished download: the file exists under its final name (chromium renames it from .crdownload). */
const downloaded = (pattern: RegExp) =>
  until(`a download matching ${pattern}`, async () => {
    const name = (await readdir(downloads)).find((entry) => pattern.test(entry) && !entry.endsWith('.crdownload'));
    return name ? join(downloads, name) : undefined;
  });

describe('the auditor console in chromium', () => {
  it('serves the page, its script and its styles under a CSP without inline code', async () => {
    const response = await fetch(`${scenario.url}/console`);
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await response.text();
    expect(html).not.toMatch(/<script>|<style|style="/);
    // The JSON API keeps its own CSP: nothing may load from an API answer.
    const api = await fetch(`${scenario.url}/health/live`);
    expect(api.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('renders the API reference at /docs under the same page policy (no CSP refusal)', async () => {
    const context = await chromium.browser.createBrowserContext();
    const page = await context.newPage();
    const refused: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') refused.push(message.text());
    });
    await page.goto(`${scenario.url}/docs`);
    await page.waitForSelector('.opblock', WAIT);
    expect(await page.$$eval('.opblock', (blocks) => blocks.length)).toBeGreaterThan(20);
    expect(refused.filter((line) => /Content Security Policy/.test(line))).toEqual([]);
    await context.close();
  }, 120_000);

  it('lets an auditor find the inspection, travel back before its detections, verify and download', async () => {
    const context = await chromium.browser.createBrowserContext({
      downloadBehavior: { policy: 'allow', downloadPath: downloads },
    });
    const page = await openConsole(context);
    const { inspectionId, url } = scenario;

    // A wrong key: the API's problem, shown as given.
    await page.waitForSelector('#api-key', { visible: true });
    await page.type('#api-key', 'not-a-key');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.problem[role="alert"]');
    expect(await text(page, '.problem')).toMatch(/\(401\)/);
    await page.evaluate("document.getElementById('api-key').value = ''");
    await signIn(page, scenario.keys.auditor);
    expect(await text(page, '#who')).toContain('auditor');

    // Find it by the file name, then open it.
    await page.type('#f-q', 'weld-9000000');
    await page.click('#detections button');
    const link = `#detection-results a[href="#/inspections/${inspectionId}"]`;
    await page.waitForSelector(link);
    await page.click(link);
    await page.waitForSelector('#detections tbody tr');
    await page.waitForFunction("document.querySelector('figure img')?.complete === true");

    const api = (await (
      await fetch(`${url}/v1/inspections/${inspectionId}`, {
        headers: { authorization: `Bearer ${await token(scenario.keys.admin)}` },
      })
    ).json()) as { detections: { role: string; size: unknown }[]; verdict: { verdict: string } };
    const live = api.detections.filter((d) => d.role === 'live');
    expect(live.length).toBeGreaterThan(0);
    expect(await rowCount(page)).toBe(live.length);
    expect(await text(page, '#detections')).toMatch(/\d+\.\d\d × \d+\.\d\d/); // mm sizes: the DICOM has a spacing
    expect(await text(page, '#detections')).toContain('confirmed by admin');
    expect(await text(page, '#verdict .verdict')).toBe(api.verdict.verdict);
    expect(await page.$$eval('#verdict tbody tr', (rows) => rows.length)).toBeGreaterThan(0);

    // The PDF report, by keyboard: the page's heading has the focus, the next stop is the PDF button,
    // with a visible focus ring.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.id')).toBe('report-pdf');
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    await page.keyboard.press('Enter');
    const pdfPath = await downloaded(new RegExp(`^inspection-${inspectionId}-v\\d+\\.pdf$`));
    const pdf = await readFile(pdfPath);
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');

    // Back to the first event (keyboard: Home on the range input): no detections then.
    const slider = await page.$('#as-of');
    expect(await page.$eval('label[for="as-of"]', (label) => label.textContent)).toBeTruthy();
    await slider!.focus();
    await page.keyboard.press('Home');
    await page.waitForSelector('#no-detections');
    await page.waitForFunction("document.querySelector('figcaption')?.textContent.includes('as of event 1')");
    expect(await page.$eval('#as-of', (input) => input.getAttribute('aria-valuetext'))).toMatch(
      /^Event 1 of \d+: InspectionRequested/,
    );
    expect(await text(page, '#state-status')).toMatch(/as of event 1/);
    expect(await text(page, '#verdict')).toContain('Not evaluated');
    // Forward to the event that recorded them: they come back.
    const events = await page.$$eval('#events li', (items) => items.map((item) => item.textContent ?? ''));
    const recordedAt = events.findIndex((entry) => entry.includes('DetectionsRecorded')) + 1;
    expect(recordedAt).toBeGreaterThan(1);
    for (let step = 1; step < recordedAt; step++) await page.keyboard.press('ArrowRight');
    await page.waitForFunction(`document.querySelectorAll('#detections tbody tr').length === ${live.length}`);
    expect(await text(page, '#detections')).not.toContain('confirmed'); // reviewed later
    await page.keyboard.press('End');
    await page.waitForFunction("document.querySelector('#state-status')?.textContent.includes('(now)')");

    // Audit: verify the log, then check the downloaded report is one Chitti issued.
    await page.click('a[data-nav="audit"]');
    await page.waitForSelector('#verify');
    await page.click('#verify');
    await page.waitForSelector('#verify-result');
    expect(await page.$eval('#verify-result', (el) => el.getAttribute('data-ok'))).toBe('true');
    expect(await text(page, '#verify-result')).toContain('Intact');
    const fileInput = await page.$('#report-file');
    await (fileInput as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(pdfPath);
    await page.click('#verify-report');
    await page.waitForSelector('#report-verify-result');
    expect(await page.$eval('#report-verify-result', (el) => el.getAttribute('data-issued'))).toBe('true');
    expect(await text(page, '#report-verify-result')).toContain(inspectionId);

    // The export: events with hashes, then seals.
    await page.click('#export');
    const exported = (await readFile(await downloaded(/^chitti-events\.ndjson$/), 'utf8')).trim().split('\n');
    expect(JSON.parse(exported[0]!)).toHaveProperty('hash');
    expect(exported.some((line) => JSON.parse(line).record === 'seal')).toBe(true);

    // Any stream's history: the model's, as of its first event.
    await page.goto(`${url}/console#/history/model-weld-defects`);
    await page.waitForFunction(`document.querySelector('#stream-state')?.textContent.includes('"versions"')`);
    await page.focus('#as-of');
    await page.keyboard.press('Home');
    await page.waitForFunction("document.querySelector('#as-of-value')?.textContent.startsWith('Event 1 of')");

    expect(pageErrors).toEqual([]);
    await context.close();
  }, 240_000);

  it('shows a viewer no audit actions and no time travel, and the API problem when asked anyway', async () => {
    const context = await chromium.browser.createBrowserContext();
    const page = await openConsole(context);
    await signIn(page, scenario.keys.viewer);
    expect(await text(page, '#who')).toContain('viewer');
    const hiddenNav = await page.$$eval('#nav li', (items) =>
      items.filter((item) => item.hidden).map((item) => item.textContent?.trim()),
    );
    expect(hiddenNav.sort()).toEqual(['Audit', 'History']);

    await page.goto(`${scenario.url}/console#/inspections/${scenario.inspectionId}`);
    await page.waitForSelector('#detections tbody tr');
    expect(await page.$('#as-of')).toBeNull();
    expect(await page.$('#no-time-travel')).not.toBeNull();

    await page.goto(`${scenario.url}/console#/audit`);
    await page.waitForSelector('#permission-note');
    expect(await page.$('#verify')).toBeNull();
    expect(await page.$('#export')).toBeNull();

    // The API decides, not the page: what a viewer asks for anyway is refused, and the problem is shown.
    await page.goto(`${scenario.url}/console#/inspections/00000000-0000-7000-8000-000000000000`);
    await page.waitForSelector('.problem[role="alert"]');
    expect(await text(page, '.problem')).toMatch(/\(404\)/);
    const refused = (await page.evaluate(`(async () => {
      const session = JSON.parse(sessionStorage.getItem('chitti-console-session'));
      const response = await fetch('/v1/audit/verify', { headers: { authorization: 'Bearer ' + session.accessToken } });
      return { status: response.status, type: response.headers.get('content-type') };
    })()`)) as { status: number; type: string };
    expect(refused.status).toBe(403);
    expect(refused.type).toContain('application/problem+json');

    expect(pageErrors).toEqual([]);
    await context.close();
  }, 120_000);
});

async function token(apiKey: string): Promise<string> {
  const response = await fetch(`${scenario.url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiKey }),
  });
  return ((await response.json()) as { accessToken: string }).accessToken;
}
