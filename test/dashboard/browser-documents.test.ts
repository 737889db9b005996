import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { buildDashboardPage } from '../../dashboard-ui/build.js';
import { CloseCode } from '../../lib/index.js';
import { ClientPool, type StockClient } from '../support/clients.js';
import { waitFor } from '../support/wait-for.js';
import { WEBHOOK_SECRET, WebhookReceiver } from '../support/webhook-receiver.js';
import { startDashboardServer, TOKEN, type DashboardServer } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT_DIRECTORY = join(process.cwd(), 'test-output');
const ROOM = 'design-review';

describe('the dashboard page: versions, delete and webhooks in a real browser', function () {
  this.timeout(60_000);
  let app: DashboardServer;
  let receiver: WebhookReceiver;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let uiDirectory: string;
  let client: StockClient;
  const closeCodes: number[] = [];
  const clients = new ClientPool();
  const pageErrors: string[] = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
    uiDirectory = await mkdtemp(join(tmpdir(), 'symphony-dashboard-ui-'));
    await buildDashboardPage({ outDir: uiDirectory });
    receiver = await WebhookReceiver.start();
    app = await startDashboardServer('express', {
      dashboard: { uiDirectory, sampleIntervalMs: 250 },
      symphony: { webhooks: [{ url: receiver.url, secret: WEBHOOK_SECRET, events: ['version.created', 'room.deleted'] }] },
    });
    client = clients.open(app.collabUrl, ROOM, { params: { token: 'user:ada' } });
    client.provider.on('connection-close', (event) => {
      if (event) closeCodes.push(event.code);
    });
    await client.synced();
    client.doc.getText('notes').insert(0, 'first draft');
    await waitFor(async () => (await app.symphony.toJSON(ROOM))?.notes === 'first draft', 'the server has the first draft');
    await app.symphony.createVersion(ROOM, { name: 'kick-off', createdBy: 'ada' });
    const text = client.doc.getText('notes');
    text.delete(0, text.length);
    text.insert(0, 'second draft');
    await waitFor(async () => (await app.symphony.toJSON(ROOM))?.notes === 'second draft', 'the server has the second draft');

    profile = await mkdtemp(join(tmpdir(), 'symphony-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1440, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.goto(`${app.origin}/admin/#room=${ROOM}`);
    await page.fill('#token', TOKEN);
    await page.click('#login-form button[type=submit]');
    await page.locator('#room-view').waitFor({ state: 'visible' });
  });

  after(async () => {
    clients.destroyAll();
    await context?.close();
    await app?.close();
    await receiver?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
    if (uiDirectory) await rm(uiDirectory, { recursive: true, force: true });
  });

  const versionRow = (name: string) => page.locator('#rv-versions tr.version-row', { has: page.locator('td', { hasText: name }) });

  it('lists the room\'s versions and previews one as a JSON tree', async () => {
    await versionRow('kick-off').waitFor();
    assert.match(await versionRow('kick-off').innerText(), /ada/);
    await versionRow('kick-off').locator('.version-preview').click();
    await page.locator('#rv-version-preview').waitFor({ state: 'visible' });
    await page.waitForFunction(() => document.getElementById('rv-version-tree')?.textContent?.includes('"first draft"') === true);
    assert.match((await page.locator('#rv-version-preview-title').textContent()) ?? '', /kick-off/);
    assert.match(await page.locator('#rv-document').innerText(), /second draft/);
  });

  it('restores a version: the connected y-websocket client and the document view show its content', async () => {
    await versionRow('kick-off').locator('.version-restore').click();
    await waitFor(() => client.doc.getText('notes').toString() === 'first draft', 'the client converged to the restored version', 10_000);
    await page.waitForFunction(() => document.getElementById('rv-document')?.textContent?.includes('"first draft"') === true);
    assert.match((await page.locator('#rv-versions-note').textContent()) ?? '', /^Restored the version of/);
  });

  it('creates a named version from the page', async () => {
    await page.fill('#rv-version-name', 'after restore');
    await page.click('#rv-create-version');
    await versionRow('after restore').waitFor();
    const versions = await app.symphony.listVersions(ROOM);
    assert.equal(versions.find((version) => version.name === 'after restore')?.kind, 'named');
    assert.equal(await page.locator('#rv-version-name').inputValue(), '');
  });

  it('shows webhook deliveries in the webhooks panel', async () => {
    await page.locator('#webhooks').waitFor({ state: 'visible' });
    await page.waitForFunction(() => document.querySelectorAll('#webhooks-table tr.delivery-row[data-event="version.created"][data-state="delivered"]').length >= 2, undefined, { timeout: 10_000 });
    const row = page.locator('#webhooks-table tr.delivery-row').first();
    assert.match(await row.innerText(), /version\.created/);
    assert.match(await row.innerText(), /200/);
    assert.match((await page.locator('#webhooks-totals').textContent()) ?? '', /delivered/);
    await mkdir(OUTPUT_DIRECTORY, { recursive: true });
    await page.screenshot({ path: join(OUTPUT_DIRECTORY, 'dashboard-versions.png'), fullPage: true });
  });

  it('deletes the room only after a confirmation naming it', async () => {
    await page.click('#rv-delete');
    await page.locator('#rv-delete-confirm').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#rv-delete-room').textContent(), ROOM);
    await page.click('#rv-delete-cancel');
    await page.locator('#rv-delete-confirm').waitFor({ state: 'hidden' });
    assert.notEqual(await app.symphony.readState(ROOM), null, 'cancel deletes nothing');

    client.provider.shouldConnect = false;
    await page.click('#rv-delete');
    await page.click('#rv-delete-confirmed');
    await page.locator('#room-view').waitFor({ state: 'hidden' });
    await waitFor(() => closeCodes.includes(CloseCode.roomDeleted), 'the client was closed with 4410');
    assert.equal(await app.symphony.readState(ROOM), null);
    await receiver.next((r) => r.event.type === 'room.deleted', 'room.deleted webhook');
    assert.deepEqual(pageErrors, []);
  });
});
