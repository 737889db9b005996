import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium; `apt-get install -y chromium` provides it. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * One user's browser: a persistent context with its own profile directory, hence its own
 * IndexedDB, service worker and cache, as two people on two computers have.
 */
export interface UserBrowser {
  readonly context: BrowserContext;
  readonly page: Page;
  close(): Promise<void>;
}

export async function openUserBrowser(identity: { name: string; color: string }): Promise<UserBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: run \`apt-get install -y chromium\` or set CHROMIUM_PATH`);
  const profile = mkdtempSync(join(tmpdir(), 'symphony-e2e-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    deviceScaleFactor: 1,
  });
  // The whiteboard keeps the user's name and colour in localStorage; fix them so tests can find them.
  await context.addInitScript((stored) => localStorage.setItem('symphony-whiteboard:identity', stored), JSON.stringify(identity));
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
