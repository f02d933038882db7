/**
 * `npm run screenshots`: the console's main pages as PNGs under docs/screenshots/, for the README.
 *
 * Starts a real `chitti start` on a fresh database of the test PostgreSQL (TEST_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres), inspects the DICOM sample with the bundled model as
 * the console test does, and photographs the pages an auditor uses in headless chromium
 * (CHROMIUM_PATH, default /usr/bin/chromium). Times and ids differ on every run.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { startConsoleScenario } from '../test/e2e/console-scenario.js';
import { REPO } from '../test/e2e/support.js';
import { launchChromium } from '../test/support/browser.js';

const OUT = join(REPO, 'docs', 'screenshots');
const log = (message: string) =>
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), message })}\n`);

async function shoot(page: Page, name: string, fullPage = true): Promise<void> {
  // The focus ring of the last click is not part of the picture.
  await page.evaluate('document.activeElement?.blur()');
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage });
  log(`wrote docs/screenshots/${name}.png`);
}

const scenario = await startConsoleScenario();
const chromium = await launchChromium();
try {
  await mkdir(OUT, { recursive: true });
  const page = await chromium.browser.newPage();
  page.setDefaultTimeout(60_000);
  await page.setViewport({ width: 1200, height: 800 });
  const { url, inspectionId } = scenario;

  await page.goto(`${url}/console`);
  await page.waitForSelector('#api-key', { visible: true });
  await shoot(page, 'sign-in');
  await page.type('#api-key', scenario.keys.auditor);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#inspection-results table');

  await page.goto(`${url}/console#/search?q=weld-9000000&run=detections`);
  await page.waitForSelector('#detection-results table');
  await shoot(page, 'search');

  await page.goto(`${url}/console#/inspections/${inspectionId}`);
  await page.waitForSelector('#detections tbody tr');
  await page.waitForFunction("document.querySelector('figure img')?.complete === true");
  await shoot(page, 'inspection');

  await page.focus('#as-of');
  await page.keyboard.press('Home');
  await page.keyboard.press('ArrowRight');
  await page.waitForSelector('#no-detections');
  await page.waitForFunction("document.querySelector('figcaption')?.textContent.includes('as of event 2')");
  await shoot(page, 'inspection-as-of');

  await page.goto(`${url}/console#/audit`);
  await page.waitForSelector('#verify');
  await page.click('#verify');
  await page.waitForSelector('#verify-result');
  await shoot(page, 'audit', false);
} finally {
  await chromium.close();
  await scenario.stop();
}
