import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import * as Y from 'yjs';
import { buildDashboardPage } from '../../dashboard-ui/build.js';
import { EmbeddedMetadataStore, FileStore, type RoomWrite } from '../../lib/index.js';
import { encodeRecords } from '../../lib/core/storage/journal-records.js';
import { roomFileName } from '../../lib/core/storage/room-file-name.js';
import { ClientPool, type StockClient } from '../support/clients.js';
import { waitFor } from '../support/wait-for.js';
import { ScriptedClusterReplicator, startDashboardServer, TOKEN, type DashboardServer } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT_DIRECTORY = join(process.cwd(), 'test-output');
const STORED_ROOMS = 10_000;

describe('the dashboard page in a real browser', function () {
  this.timeout(60_000);
  let app: DashboardServer;
  let clusterApp: DashboardServer | undefined;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let uiDirectory: string;
  const clients = new ClientPool();
  const pageErrors: string[] = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
    uiDirectory = await mkdtemp(join(tmpdir(), 'symphony-dashboard-ui-'));
    const build = await buildDashboardPage({ outDir: uiDirectory });
    assert.ok(build.built && build.bytes > 0);

    // A node with history: rooms from earlier sessions, known to the metadata store only.
    const metadata = new EmbeddedMetadataStore();
    const now = Date.now();
    const rooms: RoomWrite[] = Array.from({ length: STORED_ROOMS }, (_, i) => ({
      name: `${['design', 'sprint', 'retro', 'roadmap'][i % 4]}-${String(i).padStart(4, '0')}`,
      firstActivityAt: new Date(now - 86_400_000 - i * 60_000),
      lastActivityAt: new Date(now - 600_000 - i * 37_000),
      documentBytes: 500 + ((i * 7919) % 90_000),
      documentBytesAt: new Date(now - 600_000),
      peakConnections: 1 + (i % 9),
      // The first room was visited but never changed, so never checkpointed.
      lastCheckpointAt: i === 0 ? null : new Date(now - 600_000 - i * 37_000),
    }));
    await metadata.write({ nodeId: 'earlier-run', at: new Date(), nodeStartedAt: null, rooms, sessions: [] });
    app = await startDashboardServer('express', { dashboard: { metadata, uiDirectory, sampleIntervalMs: 250 } });

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
  });

  after(async () => {
    clients.destroyAll();
    await context?.close();
    await app?.close();
    await clusterApp?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
    if (uiDirectory) await rm(uiDirectory, { recursive: true, force: true });
  });

  /** The text of a cell of the row of `room`, or null while the row is not shown. */
  const cellOf = (room: string, cell: string) =>
    page.evaluate(
      ([name, selector]) => document.querySelector(`.room-row[data-room="${CSS.escape(name)}"] ${selector}`)?.textContent ?? null,
      [room, cell] as const,
    );

  const waitForUsers = async (room: string, users: string) => {
    await page.waitForFunction(
      ([name, expected]) => document.querySelector(`.room-row[data-room="${CSS.escape(name)}"] .users`)?.textContent === expected,
      [room, users] as const,
      { timeout: 10_000 },
    );
  };

  it('asks for the token once, then shows totals and the rooms', async () => {
    await page.goto(`${app.origin}/admin/`);
    await page.locator('#login').waitFor({ state: 'visible' });
    await page.fill('#token', 'not-the-token');
    await page.click('#login-form button[type=submit]');
    await page.locator('#login-error').waitFor({ state: 'visible' });
    await page.fill('#token', TOKEN);
    await page.click('#login-form button[type=submit]');
    await page.locator('#app').waitFor({ state: 'visible' });
    await page.waitForFunction((total) => document.getElementById('rooms-total')?.textContent === total.toLocaleString(), STORED_ROOMS);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'live');
    await page.waitForFunction(() => document.getElementById('t-connections')?.textContent === '0');
    // Reloading keeps the token: it was asked for once. It lives in the tab's session storage, never on disk.
    await page.reload();
    await page.locator('#app').waitFor({ state: 'visible' });
    assert.deepEqual(await page.evaluate(() => [sessionStorage.getItem('symphony-dashboard-token'), localStorage.length]), [TOKEN, 0]);
    // The refused first attempt was logged by the browser; nothing else may be.
    pageErrors.length = 0;
  });

  it('labels rooms saved in the store "stored", and a room that never reached a checkpoint "never saved"', async () => {
    await page.waitForSelector('.room-row[data-room="design-0000"]');
    assert.equal(await cellOf('design-0000', '.pill'), 'never saved');
    assert.equal(await cellOf('sprint-0001', '.pill'), 'stored');
    assert.match((await page.locator('#t-checkpoints').textContent()) ?? '', /^0 checkpoints$/);
  });

  it('keeps the Nodes panel hidden on a single node', async () => {
    const answered = page.waitForResponse((response) => new URL(response.url()).pathname === '/admin/api/cluster');
    await page.reload();
    const answer = await answered;
    assert.equal(((await answer.json()) as { cluster: unknown }).cluster, null);
    await page.locator('#app').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#nodes').isHidden(), true);
  });

  it('renders only the visible rows of thousands, also after scrolling to the end', async () => {
    await page.waitForSelector('.room-row[data-room]');
    const rendered = await page.locator('.room-row').count();
    assert.ok(rendered > 5 && rendered < 60, `${rendered} rows in the DOM`);
    await page.locator('#rooms-viewport').evaluate((viewport) => viewport.scrollTo(0, viewport.scrollHeight));
    await page.waitForFunction(() => [...document.querySelectorAll('.room-row[data-room]')].length > 0 && !document.querySelector('.room-row.placeholder'));
    const lastRows = await page.locator('.room-row[data-room]').count();
    assert.ok(lastRows < 60);
    await page.locator('#rooms-viewport').evaluate((viewport) => viewport.scrollTo(0, 0));
  });

  it('shows a room appear and its user count change as y-websocket clients join and leave', async () => {
    await page.fill('#search', 'live-');
    await page.waitForFunction(() => document.getElementById('rooms-total')?.textContent === '0');
    const ada: StockClient = clients.open(app.collabUrl, 'live-whiteboard', { params: { token: 'user:ada' } });
    await ada.synced();
    ada.doc.transact(() => {
      const shape = new Y.Map<unknown>();
      ada.doc.getMap('shapes').set('r1', shape);
      shape.set('kind', 'rect');
      shape.set('x', 40);
      shape.set('label', 'Hello from Ada');
      ada.doc.getArray('order').push(['r1']);
    });
    ada.provider.awareness.setLocalStateField('user', { name: 'Ada', color: '#4f46e5' });
    await waitForUsers('live-whiteboard', '1');
    const bob = clients.open(app.collabUrl, 'live-whiteboard', { params: { token: 'viewer:bob' } });
    await bob.synced();
    await waitForUsers('live-whiteboard', '2');
    bob.destroy();
    await waitForUsers('live-whiteboard', '1');
    assert.equal(await cellOf('live-whiteboard', '.pill'), 'live');
  });

  it('opens the room view with its connections and a collapsible JSON tree of the document', async () => {
    await page.click('.room-row[data-room="live-whiteboard"]');
    await page.locator('#room-view').waitFor({ state: 'visible' });
    await page.waitForFunction(() => document.querySelector('#rv-connections td')?.textContent === 'ada');
    await page.waitForFunction(() => document.getElementById('rv-document')?.textContent?.includes('"Hello from Ada"') === true);
    const tree = await page.locator('#rv-document').innerText();
    assert.match(tree, /shapes/);
    assert.match(tree, /order/);
    // Branches collapse and expand.
    await page.click('#rv-collapse');
    assert.equal(await page.locator('#rv-document details[open]').count(), 1);
    assert.doesNotMatch(await page.locator('#rv-document').innerText(), /Hello from Ada/);
    await page.click('#rv-expand');
    assert.ok((await page.locator('#rv-document details[open]').count()) >= 4);
    assert.match(await page.locator('#rv-document').innerText(), /Hello from Ada/);
    assert.match(await page.locator('#rv-presence').innerText(), /Ada/);
    assert.equal(await page.locator('#rv-cluster').isHidden(), true, 'no cluster section on a single node');
  });

  it('disconnects one connection from the room view, and its row disappears', async () => {
    const mallory = clients.open(app.collabUrl, 'live-whiteboard', { params: { token: 'user:mallory' } });
    await mallory.synced();
    const closed = new Promise<number>((resolve) => mallory.provider.once('connection-close', (event: CloseEvent | null) => resolve(event?.code ?? 0)));
    const row = page.locator('#rv-connections tr[data-connection]', { hasText: 'mallory' });
    await row.waitFor({ state: 'visible', timeout: 10_000 });
    await row.locator('button', { hasText: 'Disconnect' }).click();
    assert.equal(await closed, 4401);
    await row.waitFor({ state: 'detached' });
    await waitFor(() => app.symphony.connections('live-whiteboard').map((connection) => connection.userId).join() === 'ada', 'only Ada is left on the server');
    // The next reload (after the room's `rooms` event) still lists only Ada.
    await page.waitForFunction(() => document.getElementById('rv-connections-count')?.textContent === '1');
    await page.waitForFunction(() => [...document.querySelectorAll('#rv-connections tr[data-connection] td:first-child')].map((cell) => cell.textContent).join() === 'ada');
  });

  it('saves screenshots of the dashboard and of a room under test-output/', async () => {
    await mkdir(OUTPUT_DIRECTORY, { recursive: true });
    await page.screenshot({ path: join(OUTPUT_DIRECTORY, 'dashboard-room.png') });
    await page.click('#rv-close');
    await page.locator('#room-view').waitFor({ state: 'hidden' });
    await page.fill('#search', '');
    await page.waitForFunction((total) => document.getElementById('rooms-total')?.textContent === (total + 1).toLocaleString(), STORED_ROOMS);
    // Some traffic for the charts: a second user drawing for a couple of seconds.
    const carol = clients.open(app.collabUrl, 'live-whiteboard', { params: { token: 'user:carol' } });
    await carol.synced();
    const points = carol.doc.getArray<number>('stroke');
    for (let i = 0; i < 60; i++) {
      points.push([i, (i * 37) % 100]);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    await page.waitForFunction(() => Number(document.getElementById('t-connections')?.textContent) === 2);
    await page.waitForFunction(() => document.querySelector('.room-row[data-room="live-whiteboard"] .users')?.textContent === '2');
    await page.screenshot({ path: join(OUTPUT_DIRECTORY, 'dashboard.png'), fullPage: true });
    assert.deepEqual(pageErrors, []);
  });

  it('shows the nodes of a cluster, and which nodes hold and write a room', async () => {
    const heartbeatAt = Date.now();
    const holders = [
      { nodeId: 'node-a', url: 'http://10.0.1.23:3000', heartbeatAt },
      { nodeId: 'node-b', url: 'http://10.0.1.24:3000', heartbeatAt: heartbeatAt - 4_000 },
    ];
    const replicator = new ScriptedClusterReplicator({
      rooms: [{ room: 'team-board', holders, writer: 'node-b' }],
      nodes: [
        { nodeId: 'node-a', url: holders[0].url, rooms: 1, heartbeatAt },
        { nodeId: 'node-b', url: holders[1].url, rooms: 3, heartbeatAt: holders[1].heartbeatAt },
      ],
    });
    clusterApp = await startDashboardServer('express', { symphony: { nodeId: 'node-a', replicator }, dashboard: { uiDirectory, sampleIntervalMs: 250 } });
    await clusterApp.symphony.change('team-board', (doc) => doc.getMap('shapes').set('s1', { kind: 'rect' }));

    // Another origin: the token is asked for again.
    await page.goto(`${clusterApp.origin}/admin/`);
    await page.fill('#token', TOKEN);
    await page.click('#login-form button[type=submit]');
    await page.locator('#nodes').waitFor({ state: 'visible' });
    const rows = await page.locator('#nodes-table tr[data-node]').evaluateAll((elements) =>
      elements.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent ?? '')),
    );
    assert.deepEqual(
      rows.map(([node, url, rooms]) => [node, url, rooms]),
      [
        ['node-a this node', 'http://10.0.1.23:3000', '1'],
        ['node-b', 'http://10.0.1.24:3000', '3'],
      ],
    );
    assert.match(rows[1][3], /^\d+\.\d s ago$/);
    assert.equal(await page.locator('#nodes-count').textContent(), '2');

    await page.goto(`${clusterApp.origin}/admin/#room=team-board`);
    await page.locator('#rv-cluster').waitFor({ state: 'visible' });
    const roles = await page.locator('#rv-holders tr[data-node]').evaluateAll((elements) =>
      elements.map((row) => [(row as HTMLElement).dataset.node, row.querySelector('.role')?.textContent]),
    );
    assert.deepEqual(roles, [
      ['node-a', 'replica'],
      ['node-b', 'writer'],
    ]);
    assert.equal(await page.locator('#rv-writer').textContent(), 'written by node-b');
    await mkdir(OUTPUT_DIRECTORY, { recursive: true });
    await page.screenshot({ path: join(OUTPUT_DIRECTORY, 'dashboard-cluster.png'), fullPage: true });
    assert.deepEqual(pageErrors, []);
  });

  it('marks a room served from a damaged journal in the rooms table and names the files in the room view', async () => {
    const dataDirectory = await mkdtemp(join(tmpdir(), 'symphony-damaged-ui-'));
    let damagedApp: DashboardServer | undefined;
    try {
      const room = 'damaged-board';
      const folder = join(dataDirectory, roomFileName(room));
      await mkdir(folder, { recursive: true });
      const updates = ['a', 'b', 'c'].map((key) => {
        const doc = new Y.Doc();
        doc.getMap('shapes').set(key, { kind: 'rect' });
        return Y.encodeStateAsUpdate(doc);
      });
      const journal = encodeRecords(updates);
      journal[12 + 3] ^= 0x01; // inside the first record
      await writeFile(join(folder, 'journal-1.v2.log'), journal);
      damagedApp = await startDashboardServer('express', { symphony: { store: new FileStore({ directory: dataDirectory }) }, dashboard: { uiDirectory, sampleIntervalMs: 250 } });
      const viewer = clients.open(damagedApp.collabUrl, room, { params: { token: 'user:dora' } });
      await viewer.synced();

      await page.goto(`${damagedApp.origin}/admin/`);
      await page.fill('#token', TOKEN);
      await page.click('#login-form button[type=submit]');
      await page.locator(`.room-row[data-room="${room}"] .pill-damaged`).waitFor({ state: 'visible' });
      await page.click(`.room-row[data-room="${room}"]`);
      await page.waitForFunction(() => document.getElementById('rv-facts')?.textContent?.includes('damaged journal') === true);
      const facts = await page.locator('#rv-facts').innerText();
      assert.match(facts, /damaged-journal-1\.v2\.log/);
      assert.deepEqual(pageErrors, []);
    } finally {
      clients.destroyAll();
      await damagedApp?.close();
      await rm(dataDirectory, { recursive: true, force: true });
    }
  });
});
