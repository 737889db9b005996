import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { buildWhiteboard } from '../../examples/shared/whiteboard/build.js';
import { startExample, type ExampleProcess } from '../support/example-process.js';
import { openUserBrowser, type UserBrowser } from './browser.js';

const WAIT = { timeout: 10_000 };
const SCREENSHOT = 'test-output/whiteboard.png';

type Tool = 'select' | 'pen' | 'rect' | 'ellipse' | 'arrow';

async function openBoard(page: Page, baseUrl: string, room: string): Promise<void> {
  await page.goto(`${baseUrl}/?room=${encodeURIComponent(room)}`);
  await waitForStatus(page, 'synced');
}

async function waitForStatus(page: Page, status: string): Promise<void> {
  await page.waitForFunction((expected) => document.getElementById('status')?.dataset.status === expected, status, WAIT);
}

function shapeCount(page: Page, type?: string): Promise<number> {
  return page.locator(type ? `#shapes [data-shape-type="${type}"]` : '#shapes [data-shape-id]').count();
}

async function waitForShapes(page: Page, expected: Record<string, number>): Promise<void> {
  await page.waitForFunction(
    (counts) => Object.entries(counts).every(([type, count]) => document.querySelectorAll(`#shapes [data-shape-type="${type}"]`).length === count),
    expected,
    WAIT,
  );
}

async function pickTool(page: Page, tool: Tool): Promise<void> {
  await page.click(`.tool[data-tool="${tool}"]`);
}

async function pickColour(page: Page, name: string): Promise<void> {
  await page.click(`#swatches [aria-label="${name}"]`);
}

/** A drag on the board, in page coordinates, with intermediate pointer moves like a hand makes. */
async function drag(page: Page, from: [number, number], to: [number, number]): Promise<void> {
  await page.mouse.move(...from);
  await page.mouse.down();
  await page.mouse.move(...to, { steps: 8 });
  await page.mouse.up();
}

async function squiggle(page: Page, x: number, y: number, width: number): Promise<void> {
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let step = 1; step <= 40; step++) {
    await page.mouse.move(x + (width * step) / 40, y + Math.sin(step / 4) * 28);
  }
  await page.mouse.up();
}

describe('whiteboard in the browser (Express example, chromium)', function () {
  this.timeout(60_000);

  let example: ExampleProcess;
  let dataDirectory: string;
  let alice: UserBrowser;
  let bob: UserBrowser;
  let roomCounter = 0;
  const newRoom = (label: string) => `${label}-${Date.now().toString(36)}-${++roomCounter}`;

  before(async () => {
    await buildWhiteboard();
    dataDirectory = mkdtempSync(join(tmpdir(), 'symphony-e2e-data-'));
    example = await startExample('express', { SYMPHONY_DATA_DIR: dataDirectory });
    [alice, bob] = await Promise.all([openUserBrowser({ name: 'Alice', color: '#1971c2' }), openUserBrowser({ name: 'Bob', color: '#2f9e44' })]);
  });

  after(async () => {
    await Promise.all([alice?.close(), bob?.close()]);
    await example?.stop();
    if (dataDirectory) rmSync(dataDirectory, { recursive: true, force: true });
  });

  it('lets two users draw together: each sees the other\'s shapes, cursor and name', async () => {
    const room = newRoom('together');
    await Promise.all([openBoard(alice.page, example.baseUrl, room), openBoard(bob.page, example.baseUrl, room)]);

    await pickTool(alice.page, 'rect');
    await drag(alice.page, [300, 300], [480, 420]);
    await pickTool(bob.page, 'ellipse');
    await drag(bob.page, [600, 320], [760, 440]);

    await waitForShapes(alice.page, { rect: 1, ellipse: 1 });
    await waitForShapes(bob.page, { rect: 1, ellipse: 1 });

    await alice.page.mouse.move(520, 500);
    await bob.page.locator('.cursor-name', { hasText: 'Alice' }).waitFor(WAIT);
    await bob.page.mouse.move(700, 520);
    await alice.page.locator('.cursor-name', { hasText: 'Bob' }).waitFor(WAIT);

    for (const { page, other } of [
      { page: alice.page, other: 'Bob' },
      { page: bob.page, other: 'Alice' },
    ]) {
      await page.locator('#people .person', { hasText: other }).waitFor(WAIT);
      assert.equal(await page.locator('#people-count').textContent(), '2');
    }
  });

  it("undoes only the user's own change: Alice's undo removes her shape and leaves Bob's", async () => {
    const room = newRoom('undo');
    await Promise.all([openBoard(alice.page, example.baseUrl, room), openBoard(bob.page, example.baseUrl, room)]);
    await pickTool(alice.page, 'rect');
    await drag(alice.page, [300, 300], [460, 400]);
    await waitForShapes(bob.page, { rect: 1 });
    await pickTool(bob.page, 'arrow');
    await drag(bob.page, [600, 300], [760, 420]);
    await waitForShapes(alice.page, { rect: 1, arrow: 1 });

    await alice.page.click('#undo');
    await waitForShapes(alice.page, { rect: 0, arrow: 1 });
    await waitForShapes(bob.page, { rect: 0, arrow: 1 });
    assert.equal(await alice.page.isDisabled('#undo'), true, 'Alice has nothing left to undo: the arrow is Bob\'s');

    await alice.page.click('#redo');
    await waitForShapes(bob.page, { rect: 1, arrow: 1 });
  });

  it('selects, moves, recolours and deletes a shape, and the other user sees each step', async () => {
    const room = newRoom('edit');
    await Promise.all([openBoard(alice.page, example.baseUrl, room), openBoard(bob.page, example.baseUrl, room)]);
    await pickTool(alice.page, 'rect');
    await drag(alice.page, [300, 300], [420, 380]); // board coordinates: (300, 244) to (420, 324)
    await waitForShapes(bob.page, { rect: 1 });
    const bobSees = (expected: { x: number; stroke: string }) =>
      bob.page.waitForFunction(
        ({ x, stroke }) => {
          const ink = document.querySelector<SVGPathElement>('#shapes [data-shape-type="rect"] .ink');
          return ink !== null && Math.round(ink.getBBox().x) === x && ink.getAttribute('stroke') === stroke;
        },
        expected,
        WAIT,
      );

    await pickTool(alice.page, 'select');
    await drag(alice.page, [360, 340], [460, 340]);
    await bobSees({ x: 400, stroke: '#1e1e1e' });

    await pickColour(alice.page, 'Red');
    await bobSees({ x: 400, stroke: '#e03131' });

    await alice.page.keyboard.press('Delete');
    await waitForShapes(bob.page, { rect: 0 });
    await waitForShapes(alice.page, { rect: 0 });
  });

  it('keeps a user drawing offline, through a reload, and syncs when the network returns', async () => {
    const room = newRoom('offline');
    await Promise.all([openBoard(alice.page, example.baseUrl, room), openBoard(bob.page, example.baseUrl, room)]);
    // The service worker must have cached the app shell before the network goes.
    await alice.page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, WAIT);

    await alice.context.setOffline(true);
    await waitForStatus(alice.page, 'offline');
    assert.equal(await alice.page.isVisible('#offline-banner'), true);
    await pickTool(alice.page, 'ellipse');
    await drag(alice.page, [350, 300], [520, 430]);
    assert.equal(await shapeCount(alice.page, 'ellipse'), 1);
    mkdirSync('test-output', { recursive: true });
    await alice.page.screenshot({ path: 'test-output/whiteboard-offline.png' });

    await alice.page.reload();
    await waitForShapes(alice.page, { ellipse: 1 });
    assert.equal(await alice.page.locator('#status').getAttribute('data-status'), 'offline', 'the reload happened without network');
    assert.equal(await shapeCount(bob.page), 0, 'nothing reached Bob while Alice was offline');

    await alice.context.setOffline(false);
    await waitForStatus(alice.page, 'synced');
    await waitForShapes(bob.page, { ellipse: 1 });
  });

  it('looks like a product with two users on one board (screenshot saved to test-output/whiteboard.png)', async () => {
    const room = newRoom('design-review');
    await Promise.all([openBoard(alice.page, example.baseUrl, room), openBoard(bob.page, example.baseUrl, room)]);

    await pickTool(alice.page, 'rect');
    await pickColour(alice.page, 'Blue');
    await drag(alice.page, [220, 250], [470, 420]);
    await pickTool(alice.page, 'pen');
    await pickColour(alice.page, 'Red');
    await squiggle(alice.page, 250, 540, 300);

    await pickTool(bob.page, 'ellipse');
    await pickColour(bob.page, 'Green');
    await drag(bob.page, [640, 260], [860, 420]);
    await pickTool(bob.page, 'arrow');
    await pickColour(bob.page, 'Violet');
    await drag(bob.page, [630, 360], [490, 340]);
    await pickTool(bob.page, 'rect');
    await pickColour(bob.page, 'Orange');
    await drag(bob.page, [640, 500], [900, 620]);

    await waitForShapes(alice.page, { rect: 2, ellipse: 1, arrow: 1, pen: 1 });
    await waitForShapes(bob.page, { rect: 2, ellipse: 1, arrow: 1, pen: 1 });

    // Alice selects her rectangle (Bob sees it outlined in her colour) and points at it.
    await pickTool(alice.page, 'select');
    await alice.page.mouse.click(220, 330);
    await bob.page.locator('#selections .remote-selection').waitFor(WAIT);
    await alice.page.mouse.move(560, 470);
    await bob.page.waitForFunction(() => {
      const cursor = document.querySelector<HTMLElement>('.cursor');
      return cursor?.style.transform === 'translate(560px, 414px)';
    }, null, WAIT);
    // The cursor glides to its position (a CSS transition): take the picture once it arrived.
    await bob.page.waitForFunction(() => getComputedStyle(document.querySelector('.cursor')!).transform === 'matrix(1, 0, 0, 1, 560, 414)', null, WAIT);

    mkdirSync('test-output', { recursive: true });
    await bob.page.screenshot({ path: SCREENSHOT });
    assert.ok(statSync(SCREENSHOT).size > 10_000, 'the screenshot has content');
  });
});
