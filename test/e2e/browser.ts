import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** Debian's chromium package; .ci/run installs it when missing. */
export const CHROMIUM = '/usr/bin/chromium';

/** Where screenshots go (git-ignored), for a person to look at after a run. */
export const RESULTS_DIR = new URL('../../test-results/', import.meta.url).pathname;

export interface Browser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Saves a screenshot of the page (or of its top `heightPx`) under test-results/; returns its path. */
  screenshot(name: string, heightPx?: number): Promise<string>;
  close(): Promise<void>;
}

/**
 * Headless Chromium with a new empty profile and no network chatter of its own (no component updates, sync
 * or first-run pages), so the only requests are the page's.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get update && apt-get install -y chromium`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'mqgate-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
    viewport: { width: 1360, height: 1000 },
    timeout: 60_000,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  mkdirSync(RESULTS_DIR, { recursive: true });
  return {
    context,
    page,
    async screenshot(name, heightPx) {
      const path = join(RESULTS_DIR, name);
      const width = page.viewportSize()?.width ?? 1360;
      await page.screenshot(
        heightPx === undefined
          ? { path, fullPage: true }
          : { path, clip: { x: 0, y: 0, width, height: heightPx } },
      );
      return path;
    },
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
