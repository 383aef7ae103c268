// docs/user-guide.md, followed step by step on real agents and real containers, asserting what
// the guide says the reader will see, and writing every screenshot the guide embeds into
// docs/img/ (fixed 1280×900 viewport, fixed names): run the suite and the pictures are new.
//
// The agents: end2end/run.sh's two (e2e-a with --serve-ui, standing in for `scripts/run.sh`'s
// http://localhost:8080; e2e-b plain), and two of this spec's own: one started with
// --token-file (the guide's second agent) and one with --synthetic-containers (for "Show all").
// The containers are ds-e2e-guide-*, removed afterwards; the screenshots are filtered to them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARTIFACTS, launch } from './fixtures/browser.mjs';
import { agentA, agentB, docker, freePort, httpUrl, removeContainer, spawnAgent, TEST_IMAGE, wsUrl } from './fixtures/agents.mjs';
import { DashboardPage, percent } from './fixtures/dashboard.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const IMG = path.join(root, 'docs/img');
const PREFIX = 'ds-e2e-guide-';
const WEB = `${PREFIX}web`;
const CACHE = `${PREFIX}cache`;
const IDLE = `${PREFIX}idle`;
const LOCKED_ID = 'guide-locked';
const SYNTHETIC_ID = 'guide-synthetic';
// As the guide makes one: `openssl rand -hex 32`.
const TOKEN = crypto.randomBytes(32).toString('hex');

let browser;
let locked;
let lockedPort;
let synthetic;
let syntheticPort;
const tokenFile = path.join(ARTIFACTS, `guide-token-${process.pid}`);
const exportFile = path.join(ARTIFACTS, `guide-dockscope-agents-${process.pid}.json`);

/** A labelled test container (run.sh removes leftovers by the label). */
function run(name, args, command) {
  removeContainer(name);
  docker('run', '-d', '--name', name, '--label', 'dockscope-e2e=1', ...args, TEST_IMAGE, ...command);
}

/** Names of the screenshots this run wrote. */
const written = new Set();

/** Writes docs/img/<name>.png of the viewport (a page) or of one element (a locator). */
async function shot(target, name) {
  written.add(name);
  fs.mkdirSync(IMG, { recursive: true });
  await target.screenshot({ path: path.join(IMG, `${name}.png`), animations: 'disabled' });
}

const startLocked = () => spawnAgent({ id: LOCKED_ID, port: lockedPort, extraArgs: ['--token-file', tokenFile] });

before(async () => {
  run(WEB, ['--cpus', '0.2'], ['sh', '-c', 'while :; do :; done']);
  run(CACHE, ['--memory', '256m', '--shm-size', '128m'],
    ['sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=64 && exec sleep 100000']);
  run(IDLE, ['--pids-limit', '20'], ['sleep', '100000']);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  lockedPort = await freePort();
  locked = await startLocked();
  syntheticPort = await freePort();
  synthetic = await spawnAgent({ id: SYNTHETIC_ID, port: syntheticPort, extraArgs: ['--synthetic-containers', '40'] });
  browser = await launch({ viewport: { width: 1280, height: 900 } });
});

after(async () => {
  await browser?.close();
  await locked?.kill('SIGTERM');
  await synthetic?.kill('SIGTERM');
  [WEB, CACHE, IDLE].forEach(removeContainer);
  fs.rmSync(tokenFile, { force: true });
  fs.rmSync(exportFile, { force: true });
});

/** Text of one element of a card. */
const cardText = (dash, url, testid) => dash.card(url).getByTestId(testid).textContent();

/**
 * Waits until the card lists exactly `names` (in any order) with `first` on top showing a CPU
 * of at least `minCpu` %.
 */
async function waitForRows(page, url, names, first = names[0], minCpu = 0) {
  await page.waitForFunction(
    ([u, want, top, cpu]) => {
      const card = document.querySelector(`[data-testid="agent-card"][data-agent-url="${u}"]`);
      const rows = [...(card?.querySelectorAll('[data-testid="container-row"]') ?? [])]
        .sort((x, y) => Number(x.getAttribute('aria-rowindex')) - Number(y.getAttribute('aria-rowindex')));
      const got = rows.map((r) => r.querySelector('[data-testid="container-name"]').textContent);
      const topCpu = Number.parseFloat(rows[0]?.querySelector('[data-testid="container-cpu"]').textContent ?? '');
      return JSON.stringify([...got].sort()) === JSON.stringify([...want].sort()) && got[0] === top && topCpu >= cpu;
    },
    [url, names, first, minCpu],
    { timeout: 30_000 },
  );
}

/**
 * The card's totals chart has been drawn with at least `points` points (ECharts' own view of
 * it), so a screenshot shows lines rather than empty axes.
 */
async function waitForChart(page, url, points = 1) {
  await page.waitForFunction(
    ([u, n]) => {
      const el = document.querySelector(`[data-testid="agent-card"][data-agent-url="${u}"] [data-testid="totals-chart"]`);
      const chart = el && window.echarts?.getInstanceByDom(el);
      return (chart?.getOption()?.series?.[0]?.data?.length ?? 0) >= n;
    },
    [url, points],
    { timeout: 30_000 },
  );
}

test('the user guide, step by step', async () => {
  const page = browser.page;
  const dash = new DashboardPage(page);
  const a = agentA();
  const b = agentB();
  const urlA = wsUrl(a.port);
  const urlLocked = wsUrl(lockedPort);

  // ## First run: the page served by the agent adds that agent by itself and goes live.
  await dash.open(httpUrl(a.port));
  await dash.waitForState(urlA, 'live');
  assert.deepEqual(await dash.cardUrls(), [urlA], 'one card: the agent that served the page');
  await dash.waitForAgentName(urlA, a.id);
  await dash.filter(PREFIX);
  // Sorted by CPU, busiest first: the busy loop under --cpus 0.2 tops the list.
  await waitForRows(page, urlA, [WEB, CACHE, IDLE], WEB, 12);
  // The charts and the 60 s sparklines fill in over the first seconds.
  await waitForChart(page, urlA, 12);
  await shot(page, 'first-run');

  // ## Reading a card: the facts line.
  assert.equal(await cardText(dash, urlA, 'agent-url'), urlA);
  assert.equal(await cardText(dash, urlA, 'agent-token-state'), 'no token');
  assert.notEqual(await cardText(dash, urlA, 'agent-version'), 'unknown');
  assert.match(await cardText(dash, urlA, 'agent-uptime'), /^\d+(s|m \d+s|h \d+m|d \d+h)$/);
  assert.match(await cardText(dash, urlA, 'engine-state'), /^reachable \(Docker \d/);
  assert.equal(await cardText(dash, urlA, 'last-update'), 'just now');
  assert.match(await cardText(dash, urlA, 'agent-cost'), /^CPU \d+\.\d %, memory \d+(\.\d+)? (KiB|MiB)$/);
  assert.equal(await dash.card(urlA).getByTestId('clock-note').count(), 0, 'no clock mark when the clocks agree');

  // The columns. CPU is percent of one core: a loop held to a fifth of a core reads about 20 %.
  const row = (name) => dash.card(urlA).locator('[data-testid="container-row"]', { has: page.getByText(name, { exact: true }) });
  const webCpu = percent(await row(WEB).getByTestId('container-cpu').textContent());
  assert.ok(webCpu >= 12 && webCpu < 30, `${WEB} under --cpus 0.2 shows ${webCpu} %`);
  assert.equal(await row(IDLE).getByTestId('container-cpu').textContent(), '0.0 %');
  // Memory: in use without page cache (64 MiB written to /dev/shm counts), then the limit.
  const cacheMem = await row(CACHE).getByTestId('container-mem').textContent();
  assert.match(cacheMem, /^6\d\.\d MiB \/ 256 MiB$/, cacheMem);
  // No --memory: "no limit" (the agent sends the host's memory in its place, and beside it).
  const hostMem = await row(IDLE).getByTestId('container-mem').textContent();
  assert.match(hostMem, /^\d+(\.\d+)? (KiB|MiB) \/ no limit$/, hostMem);
  assert.match(await row(IDLE).getByTestId('container-uptime').textContent(), /^\d+(s|m \d+s)$/);
  // PIDs: processes in the container, then its --pids-limit when it has one.
  assert.equal(await row(IDLE).getByTestId('container-pids').textContent(), '1 / 20');
  assert.equal(await row(WEB).getByTestId('container-pids').textContent(), '1');
  // The image is in the name's tooltip.
  assert.equal(await row(WEB).getByTestId('container-name').getAttribute('title'), `${WEB}\nimage: ${TEST_IMAGE}`);
  await shot(dash.card(urlA), 'card');

  // ## The charts: a click on a row opens its own chart; a second click (or Close) closes it.
  await row(WEB).click();
  assert.equal(await page.getByTestId('detail-title').textContent(), `${WEB}: CPU and memory, last 5 min`);
  await page.waitForFunction(() => document.querySelector('[data-testid="detail-chart"] canvas'), null, { timeout: 10_000 });
  await page.waitForTimeout(2_500);
  await shot(dash.card(urlA), 'detail-chart');
  await page.getByTestId('close-detail').click();
  assert.equal(await page.getByTestId('detail-chart').count(), 0);

  // ## Adding agents: something that is not an address is refused under the box, nothing added.
  await dash.addAgent('ftp://db-host-3:21');
  assert.match(await dash.addError().textContent(), /“ftp:\/\/db-host-3:21” has an unsupported scheme/);
  assert.deepEqual(await dash.cardUrls(), [urlA]);

  // ## Adding a second agent, with a token: address and token in the top bar, "Add agent".
  await page.getByTestId('add-agent-input').fill(`127.0.0.1:${lockedPort}`);
  await page.getByTestId('add-agent-token').fill(TOKEN);
  assert.equal(await page.getByTestId('add-agent-token').getAttribute('type'), 'password', 'the token is masked');
  await shot(page.locator('header.topbar'), 'add-agent');
  await page.getByTestId('add-agent-button').click();
  assert.equal(await page.getByTestId('add-agent-input').inputValue(), '', 'the form empties once added');
  assert.deepEqual(await dash.cardUrls(), [urlA, urlLocked], 'the new card comes after the first');
  await dash.waitForState(urlLocked, 'live');
  await dash.waitForAgentName(urlLocked, LOCKED_ID);
  assert.equal(await cardText(dash, urlLocked, 'agent-token-state'), 'token set');
  // Same engine here, so the same containers (the filter applies to every card).
  await waitForRows(page, urlLocked, [WEB, CACHE, IDLE], WEB);
  await waitForChart(page, urlLocked, 5);
  await shot(page, 'two-agents');

  // The fleet view of the same two agents: a tile each, the busiest containers of both hosts.
  await page.getByTestId('fleet-toggle').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="fleet-tile"][data-state="up"]').length === 2
    && document.querySelectorAll('[data-testid="fleet-row"]:not([hidden])').length >= 6);
  await page.waitForTimeout(2_500); // the chart's next draw
  await shot(page, 'fleet-view');
  await page.getByTestId('fleet-toggle').click();
  await page.getByTestId('fleet-view').waitFor({ state: 'detached' });
  // Saved in this browser with its token; the address itself carries none.
  const saved = JSON.parse(await dash.savedList());
  assert.deepEqual(saved.agents, [urlA, urlLocked]);
  assert.deepEqual(saved.tokens, { [urlLocked]: TOKEN });

  // ## States: an agent that goes away is "disconnected", retried by itself; "Retry now".
  await locked.kill('SIGKILL');
  await dash.waitForState(urlLocked, 'disconnected', 15_000);
  await page.waitForFunction(
    (u) => /retrying in \d/.test(document.querySelector(`[data-agent-url="${u}"] [data-testid="agent-state-detail"]`)?.textContent ?? ''),
    urlLocked,
  );
  assert.equal(await dash.card(urlLocked).getByTestId('retry-now').count(), 1);
  await shot(dash.card(urlLocked), 'disconnected');
  locked = await startLocked();
  // The card's own backoff may reconnect first (its next try can fall while the agent
  // restarts), and then there is no button left to press: reconnect-triggers.test.mjs checks
  // that "Retry now" skips the wait.
  await dash.card(urlLocked).getByTestId('retry-now').click({ timeout: 5_000 }).catch(() => {});
  await dash.waitForState(urlLocked, 'live', 10_000);
  assert.equal(await dash.card(urlLocked).getByTestId('retry-now').count(), 0, 'no Retry now on a live card');

  // ## Export and import: the file lists the addresses, never the tokens.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-agents').click()]);
  assert.equal(download.suggestedFilename(), 'dockscope-agents.json');
  const exportedText = fs.readFileSync(await download.path(), 'utf8');
  const { rules, ...exported } = JSON.parse(exportedText);
  assert.deepEqual(exported, { version: 1, agents: [urlA, urlLocked] });
  assert.deepEqual(rules.map((r) => `${r.kind}${r.enabled ? '' : ' (off)'}`), [
    'memory_above', 'oom_killed', 'unhealthy', 'restart_loop', 'exited_non_zero (off)', 'cpu_above (off)',
  ], 'the guide\'s default rules');
  assert.ok(!exportedText.includes(TOKEN), 'no token in the export');
  fs.writeFileSync(exportFile, exportedText);
  // Imported elsewhere (here: after removing the card), the token agent comes back without
  // its token, and says what may be missing; the card's Token button fixes it.
  await dash.removeAgent(urlLocked);
  await page.getByTestId('import-agents').setInputFiles(exportFile);
  assert.equal(await page.getByTestId('import-result').textContent(), 'Imported 1 agent(s); 1 already shown.');
  await dash.waitForState(urlLocked, 'error', 15_000);
  assert.equal(await cardText(dash, urlLocked, 'agent-token-state'), 'no token');
  await page.waitForFunction(
    (u) => /requires a token/.test(document.querySelector(`[data-agent-url="${u}"] [data-testid="agent-state-detail"]`)?.textContent ?? ''),
    urlLocked,
  );
  const lockedCard = dash.card(urlLocked);
  await lockedCard.getByTestId('edit-token').click();
  await lockedCard.getByTestId('token-input').fill(TOKEN);
  await shot(lockedCard, 'token-missing');
  await lockedCard.getByTestId('save-token').click();
  await dash.waitForState(urlLocked, 'live', 10_000);
  assert.equal(await cardText(dash, urlLocked, 'agent-token-state'), 'token set');

  // ## Share links: ?agents= opens exactly those agents; the saved list stays as it was.
  const savedBefore = await dash.savedList();
  await dash.open(httpUrl(a.port, `?agents=127.0.0.1:${a.port},127.0.0.1:${b.port}`));
  await dash.waitForState(urlA, 'live');
  await dash.waitForState(wsUrl(b.port), 'live');
  assert.deepEqual(await dash.cardUrls(), [urlA, wsUrl(b.port)]);
  assert.equal(await page.getByTestId('link-banner').textContent(),
    'Showing the agents from this link; your saved list is unchanged. Keep these agents');
  assert.equal(await dash.savedList(), savedBefore);
  await dash.filter(PREFIX);
  await waitForChart(page, wsUrl(b.port), 5);
  await shot(page, 'share-link');

  // ## The debug panel: ?debug=true, each connection's state and its last raw frames.
  await dash.open(httpUrl(a.port, `?agents=127.0.0.1:${b.port}&debug=true`));
  await dash.waitForState(wsUrl(b.port), 'live');
  const panel = page.getByTestId('debug-panel');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="debug-frame"]').length >= 3);
  assert.equal(await panel.getByTestId('debug-state').textContent(), 'WebSocket: live');
  assert.match(await panel.textContent(), /malformed frames: 0, skipped \(a newer one arrived first\): \d+/);
  // Its last frames, as received: batches among them (and, since contract 6, the events an
  // agent replays on connect).
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="debug-frame"]')]
    .some((f) => /^\d\d:\d\d:\d\d\s+\{"type":"container_stats_batch"/.test(f.textContent)));
  await shot(panel, 'debug-panel');

  // ## Show all: a card lists its 25 busiest containers until "Show all" is clicked. (A
  // synthetic agent, so there are 40 to list; its card says SYNTHETIC DATA.)
  const urlSyn = wsUrl(syntheticPort);
  await dash.open(httpUrl(a.port, `?agents=127.0.0.1:${syntheticPort}`));
  await dash.waitForState(urlSyn, 'live');
  await dash.card(urlSyn).getByTestId('synthetic-badge').waitFor();
  await dash.waitForCardText(urlSyn, 'shown-count', 'Showing 25 of 40 containers. Show all', 10_000);
  assert.equal((await dash.rowNames(urlSyn)).length, 25);
  await waitForChart(page, urlSyn, 5);
  await shot(page, 'show-all');
  await dash.card(urlSyn).getByTestId('show-all').click();
  await dash.waitForCardText(urlSyn, 'shown-count',
    'Showing all 40 containers; their order refreshes every 5 s. Show the busiest only', 5_000);

  // ## Themes: dark by default; the button switches, and the choice is kept.
  await dash.open(httpUrl(a.port));
  await dash.waitForState(urlLocked, 'live');
  assert.equal(await page.locator('html').getAttribute('data-theme'), 'dark');
  assert.equal(await page.getByTestId('theme-toggle').textContent(), 'Theme: dark');
  await page.getByTestId('theme-toggle').click();
  assert.equal(await page.locator('html').getAttribute('data-theme'), 'light');
  assert.equal(await page.getByTestId('theme-toggle').textContent(), 'Theme: light');
  await dash.filter(PREFIX);
  await waitForRows(page, urlLocked, [WEB, CACHE, IDLE], WEB);
  await waitForChart(page, urlLocked, 5);
  await page.waitForTimeout(1_000);
  await shot(page, 'theme-light');
  await dash.open(httpUrl(a.port));
  assert.equal(await page.locator('html').getAttribute('data-theme'), 'light', 'kept over a reload');

  await dash.assertNoPageErrors(browser.errors);
});

test('the guide embeds exactly the screenshots the walk-through writes', () => {
  const guide = fs.readFileSync(path.join(root, 'docs/user-guide.md'), 'utf8');
  const embedded = new Set([...guide.matchAll(/!\[[^\]]*\]\(img\/([^)]+)\.png\)/g)].map((m) => m[1]));
  assert.ok(written.size > 0, 'the walk-through ran first and wrote its screenshots');
  assert.deepEqual([...embedded].sort(), [...written].sort(), 'docs/user-guide.md image links vs screenshots taken');
  for (const name of embedded) {
    assert.ok(fs.statSync(path.join(IMG, `${name}.png`)).size > 1_000, `docs/img/${name}.png is written`);
  }
});
