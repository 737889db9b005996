import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { buildWhiteboard } from '../../examples/shared/whiteboard/build.js';
import { startExample, type ExampleProcess } from '../support/example-process.js';
import { waitFor } from '../support/wait-for.js';
import { openUserBrowser, type UserBrowser } from './browser.js';

const WAIT = { timeout: 10_000 };
/** What a browser stored after its first visit: a generated name and colour (the user typed nothing). */
const STORED_IDENTITY = { name: 'Swift Otter', color: '#e03131' };

/** The address the README's quick start tells people to open in two windows. */
function quickStartUrl(): URL {
  const readme = readFileSync('README.md', 'utf8');
  const match = /Open <(http:\/\/localhost:3000[^>]*)> in two windows and draw together/.exec(readme);
  assert.ok(match, 'the README quick start names the address to open');
  return new URL(match[1]);
}

/** The same path and query on the test's server. */
function onServer(url: URL, example: ExampleProcess): string {
  return `${example.baseUrl}${url.pathname}${url.search}`;
}

async function waitUntilSynced(page: Page): Promise<void> {
  await page.waitForFunction(() => document.getElementById('status')?.dataset.status === 'synced', null, WAIT);
}

async function drawRectangle(page: Page, from: [number, number], to: [number, number]): Promise<void> {
  await page.click('.tool[data-tool="rect"]');
  await page.mouse.move(...from);
  await page.mouse.down();
  await page.mouse.move(...to, { steps: 6 });
  await page.mouse.up();
}

function rectangles(page: Page): Promise<number> {
  return page.locator('#shapes [data-shape-type="rect"]').count();
}

interface Person {
  name: string;
  color: string;
  you: boolean;
}

/** The people list as a page shows it: names, avatar colours, and which one is this page's user. */
function people(page: Page): Promise<Person[]> {
  return page.$$eval('#people .person', (items) =>
    items.map((item) => ({
      name: item.querySelector('.person-name')?.textContent ?? '',
      color: (item.querySelector('.avatar') as HTMLElement).style.background,
      you: (item as HTMLElement).dataset.you === 'true',
    })),
  );
}

/** Waits until every page lists the same `count` people, no two with the same name or colour. */
async function waitForDistinctPeople(pages: Page[], count: number): Promise<Person[][]> {
  let seen: Person[][] = [];
  const settled = waitFor(
    async () => {
      seen = await Promise.all(pages.map(people));
      const everyone = (list: Person[]) => list.map(({ name, color }) => `${name}|${color}`).sort().join(',');
      return seen.every(
        (list) =>
          list.length === count &&
          new Set(list.map((person) => person.name)).size === count &&
          new Set(list.map((person) => person.color)).size === count &&
          everyone(list) === everyone(seen[0]),
      );
    },
    `${count} pages list ${count} people with distinct names and colours`,
    15_000,
  );
  await settled.catch((error: Error) => {
    throw new Error(`${error.message}; the pages last listed ${JSON.stringify(seen)}`);
  });
  return seen;
}

describe('a first visit to the whiteboard (Express example, chromium)', function () {
  this.timeout(90_000);

  let example: ExampleProcess;
  let dataDirectory: string;
  const browsers: UserBrowser[] = [];
  const openBrowser = async () => {
    const browser = await openUserBrowser(STORED_IDENTITY);
    browsers.push(browser);
    return browser;
  };

  before(async () => {
    await buildWhiteboard();
    dataDirectory = mkdtempSync(join(tmpdir(), 'symphony-first-visit-'));
    example = await startExample('express', { SYMPHONY_DATA_DIR: dataDirectory });
  });

  afterEach(async () => {
    await Promise.all(browsers.splice(0).map((browser) => browser.close()));
  });

  after(async () => {
    await example?.stop();
    if (dataDirectory) rmSync(dataDirectory, { recursive: true, force: true });
  });

  it('puts two windows opened at the README quick start address in one room, drawing together', async () => {
    const address = onServer(quickStartUrl(), example);
    const [first, second] = await Promise.all([openBrowser(), openBrowser()]);
    await Promise.all([first.page.goto(address), second.page.goto(address)]);
    await Promise.all([waitUntilSynced(first.page), waitUntilSynced(second.page)]);

    const rooms = await Promise.all([first.page, second.page].map((page) => page.locator('#room-name').textContent()));
    assert.equal(rooms[0], rooms[1]);
    assert.equal(new URL(first.page.url()).searchParams.get('room'), rooms[0], 'the address bar names the room, ready to share');

    await drawRectangle(first.page, [300, 300], [420, 380]);
    await drawRectangle(second.page, [600, 300], [720, 380]);
    await first.page.waitForFunction(() => document.querySelectorAll('#shapes [data-shape-type="rect"]').length === 2, null, WAIT);
    await second.page.waitForFunction(() => document.querySelectorAll('#shapes [data-shape-type="rect"]').length === 2, null, WAIT);
  });

  it('makes a new empty board with "New board", and its share link brings someone else to it', async () => {
    const address = onServer(quickStartUrl(), example);
    const [owner, guest] = await Promise.all([openBrowser(), openBrowser()]);
    await owner.page.goto(address);
    await waitUntilSynced(owner.page);
    const sharedRoom = await owner.page.locator('#room-name').textContent();

    await owner.page.click('#new-board');
    await owner.page.waitForURL((url) => url.searchParams.get('room') !== sharedRoom, WAIT);
    await waitUntilSynced(owner.page);
    const newRoom = new URL(owner.page.url()).searchParams.get('room');
    assert.ok(newRoom && newRoom !== sharedRoom);
    assert.equal(await owner.page.locator('#room-name').textContent(), newRoom);
    assert.equal(await rectangles(owner.page), 0, 'the new board starts empty');
    assert.equal(await owner.page.isVisible('#share-popover'), true, 'the share box is open');
    const link = await owner.page.inputValue('#share-link');
    assert.equal(link, owner.page.url());

    await guest.page.goto(link);
    await waitUntilSynced(guest.page);
    await drawRectangle(owner.page, [300, 300], [420, 380]);
    await guest.page.waitForFunction(() => document.querySelectorAll('#shapes [data-shape-type="rect"]').length === 1, null, WAIT);
    assert.equal(await guest.page.locator('#room-name').textContent(), newRoom);
  });

  it('gives three tabs of one browser, which share a stored identity, distinct names and colours', async () => {
    const room = `${onServer(quickStartUrl(), example).split('?')[0]}?room=tabs-${Date.now().toString(36)}`;
    const browser = await openBrowser();
    const pages = [browser.page, await browser.context.newPage(), await browser.context.newPage()];
    for (const [index, page] of pages.entries()) {
      await page.goto(room);
      await waitUntilSynced(page);
      await waitForDistinctPeople(pages.slice(0, index + 1), index + 1);
    }
    const [firstTabView] = await waitForDistinctPeople(pages, 3);
    const firstTab = firstTabView.find((person) => person.you);
    assert.equal(firstTab?.name, STORED_IDENTITY.name, 'the tab that was there first keeps its name');
    assert.equal(firstTab?.color, 'rgb(224, 49, 49)', 'and its colour');
    assert.equal(await pages[1].inputValue('#my-name'), (await people(pages[1])).find((person) => person.you)?.name, 'the name field shows the new name');
  });

  it('gives three people who join at the same moment with the same identity distinct names and colours', async () => {
    const room = `${onServer(quickStartUrl(), example).split('?')[0]}?room=together-${Date.now().toString(36)}`;
    const joiners = await Promise.all([openBrowser(), openBrowser(), openBrowser()]);
    await Promise.all(joiners.map(({ page }) => page.goto(room)));
    await Promise.all(joiners.map(({ page }) => waitUntilSynced(page)));
    await waitForDistinctPeople(
      joiners.map(({ page }) => page),
      3,
    );
  });
});
