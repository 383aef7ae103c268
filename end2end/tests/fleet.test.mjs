// The fleet view with three real agents on the real engine: one table of every host's
// containers with the host each runs on, the busiest first; a host that goes down turns its
// tile red within 6 s and keeps its rows, marked stale; the choice of view survives a reload;
// a container the page's alert rules flag is marked in the table and counted on its tile.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot } from './fixtures/browser.mjs';
import { agentA, agentB, freePort, httpUrl, spawnAgent, runContainer, removeContainer } from './fixtures/agents.mjs';

let browser;
let third;
let thirdPort;
const containers = [];
before(async () => {
  // A busy loop held to half a core, and an idle container: the same two on every host
  // (the three agents watch one engine), so each host's rows can be told apart only by the
  // Host column.
  containers.push(runContainer('fleet-busy', { cpus: 0.5, command: ['sh', '-c', 'while :; do :; done'] }));
  containers.push(runContainer('fleet-idle', { command: ['sleep', '100000'] }));
  // Its health check never passes: the default "unhealthy" rule holds for it. Its name is
  // outside the first test's filter.
  containers.push(runContainer('sick-in-fleet', {
    args: ['--health-cmd', 'false', '--health-interval', '1s', '--health-retries', '1'],
    command: ['sleep', '100000'],
  }));
  thirdPort = await freePort();
  third = await spawnAgent({ id: 'e2e-fleet-c', port: thirdPort });
  browser = await launch({ viewport: { width: 1400, height: 1000 } });
});
after(async () => {
  await browser?.close();
  await third?.kill('SIGTERM');
  for (const c of containers) removeContainer(c);
});

/** The fleet table's listed rows (host, name, cpu, stale) and the tiles, read in one task. */
const read = (page) => page.evaluate(() => ({
  rows: [...document.querySelectorAll('[data-testid="fleet-row"]:not([hidden])')].map((r) => ({
    host: r.querySelector('[data-testid="fleet-host"]').textContent,
    name: r.querySelector('[data-testid="fleet-name"]').textContent,
    cpu: Number.parseFloat(r.querySelector('[data-testid="fleet-cpu"]').textContent),
    stale: r.querySelector('[data-testid="stale-badge"]') !== null,
    mark: r.querySelector('[data-testid="attention-mark"]')?.getAttribute('title') ?? null,
    red: r.classList.contains('attention'),
  })),
  tiles: Object.fromEntries([...document.querySelectorAll('[data-testid="fleet-tile"]')]
    .map((t) => [t.dataset.host, { state: t.dataset.state, attention: t.querySelector('[data-testid="tile-attention"]').textContent }])),
}));

async function waitFor(page, what, check, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await read(page);
    if (check(last)) return last;
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(last, null, 1).slice(0, 3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const HOSTS = ['e2e-a', 'e2e-b', 'e2e-fleet-c'];
const NAMES = ['ds-e2e-fleet-busy', 'ds-e2e-fleet-idle'];

test('a container an alert rule holds for is marked in the fleet table on every host, and each tile counts its alerts', async () => {
  const page = browser.page;
  const [a, b] = [agentA(), agentB()];
  await page.goto(httpUrl(a.port, `?agents=127.0.0.1:${a.port},127.0.0.1:${b.port},127.0.0.1:${thirdPort}`));
  await page.getByTestId('fleet-toggle').click();
  await page.getByTestId('filter-input').fill('sick-in-fleet');
  const marked = await waitFor(page, 'the unhealthy container marked on all three hosts', (s) => s.rows.length === 3
    && s.rows.every((r) => r.red && /health check failing/.test(r.mark ?? '')), 30_000);
  assert.deepEqual(marked.rows.map((r) => r.host).sort(), HOSTS);
  // The tiles count every alert of their host (other specs' containers may hold some too).
  for (const h of HOSTS) assert.match(marked.tiles[h].attention, /\b[1-9]\d* alerts?\b/, `${h}: ${marked.tiles[h].attention}`);
  // The view goes back to the cards, as the next test expects to find it.
  await page.getByTestId('filter-input').fill('');
  await page.getByTestId('fleet-toggle').click();
  await page.getByTestId('fleet-view').waitFor({ state: 'detached' });
});

test('the fleet table lists every host\'s containers with its host, busiest first; a host that goes down turns red and its rows stale', async () => {
  const page = browser.page;
  const [a, b] = [agentA(), agentB()];
  await page.goto(httpUrl(a.port, `?agents=127.0.0.1:${a.port},127.0.0.1:${b.port},127.0.0.1:${thirdPort}`));
  await page.getByTestId('fleet-toggle').click();
  assert.equal(await page.getByTestId('fleet-toggle').getAttribute('aria-pressed'), 'true');
  assert.equal(await page.locator('main.cards').isHidden(), true, 'the cards make way for the fleet view');
  await page.getByTestId('filter-input').fill('ds-e2e-fleet');

  // Every container of all three hosts, each with its host; the busy one on top.
  const listed = await waitFor(page, 'both containers on all three hosts, the busy ones first', (s) => s.rows.length === 6
    && s.rows.slice(0, 3).every((r) => r.name === NAMES[0] && r.cpu > 20)
    && HOSTS.every((h) => NAMES.every((n) => s.rows.some((r) => r.host === h && r.name === n))));
  assert.ok(listed.rows.every((r) => !r.stale), 'every host is live');
  assert.deepEqual(Object.keys(listed.tiles).sort(), HOSTS);
  assert.ok(HOSTS.every((h) => listed.tiles[h].state === 'up'), JSON.stringify(listed.tiles));
  assert.match(await page.getByTestId('fleet-count').textContent(), /^Showing 6 of 6 running containers on every host$/);
  // One CPU line per host on one time axis, each on this browser's clock: their newest
  // points lie within a few seconds of now and of each other.
  const lines = await page.waitForFunction(() => {
    const el = document.querySelector('[data-testid="fleet-chart"]');
    const series = el && window.echarts?.getInstanceByDom(el)?.getOption().series;
    return series?.length === 3 && series.every((x) => x.data.length > 0)
      && series.map((x) => ({ name: x.name, newest: x.data[x.data.length - 1][0], now: Date.now() }));
  }, null, { timeout: 15_000 }).then((h) => h.jsonValue());
  assert.deepEqual(lines.map((l) => l.name).sort(), HOSTS);
  for (const l of lines) assert.ok(Math.abs(l.now - l.newest) < 10_000, `${l.name}'s newest point is now: ${JSON.stringify(lines)}`);

  // Sorting by name puts the idle container first on every host.
  await page.getByTestId('fleet-sort-name').click();
  await waitFor(page, 'sorted by name', (s) => s.rows.length === 6 && s.rows.slice(0, 3).every((r) => r.name === NAMES[0])
    && s.rows.slice(3).every((r) => r.name === NAMES[1]));
  await page.getByTestId('fleet-sort-cpu').click();
  await screenshot(page, 'fleet-view');

  // The third host goes down: its tile is red within 6 s, its rows stay, marked stale.
  await third.kill('SIGTERM');
  const downAt = Date.now();
  const down = await waitFor(page, 'e2e-fleet-c down', (s) => s.tiles['e2e-fleet-c']?.state === 'down', 6_000);
  console.log(`# the tile turned red ${Date.now() - downAt} ms after the agent stopped`);
  assert.match(down.tiles['e2e-fleet-c'].attention, /^not live: /);
  const stale = await waitFor(page, 'stale rows', (s) => s.rows.length === 6
    && s.rows.filter((r) => r.stale).length === 2, 3_000);
  assert.ok(stale.rows.filter((r) => r.stale).every((r) => r.host === 'e2e-fleet-c'), JSON.stringify(stale.rows));
  assert.ok(['e2e-a', 'e2e-b'].every((h) => stale.tiles[h].state === 'up'));
  await screenshot(page, 'fleet-view-host-down');

  // The choice of view is saved with the view settings.
  await page.reload();
  await page.getByTestId('fleet-view').waitFor();
  assert.equal(await page.getByTestId('fleet-toggle').getAttribute('aria-pressed'), 'true');
  await page.getByTestId('fleet-toggle').click();
  await page.getByTestId('fleet-view').waitFor({ state: 'detached' });
  assert.equal(await page.locator('main.cards').isVisible(), true);
});
