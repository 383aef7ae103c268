// Sorting by a clicked column, filtering across agents, the detail chart of a selected
// container, and exporting/importing the agent list as a JSON file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, screenshot } from './fixtures/browser.mjs';
import {
  agentA, agentB, freePort, httpUrl, removeContainer, runContainer, spawnAgent, wsUrl,
} from './fixtures/agents.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

let browser;
let synth;
let synthPort;
// Real containers on the engine agent B reads, so its card has rows for the filter to hide.
let real = [];
before(async () => {
  real = ['filter-alpha', 'filter-beta'].map((name) => runContainer(name, { command: ['sleep', '100000'] }));
  browser = await launch();
  synthPort = await freePort();
  synth = await spawnAgent({ id: 'e2e-sort', port: synthPort, extraArgs: ['--synthetic-containers', '12'] });
});
after(async () => {
  await browser?.close();
  await synth?.kill('SIGTERM');
  real.forEach(removeContainer);
});

const sortedCopy = (xs, cmp) => [...xs].sort(cmp);

const UNITS = { B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40, PiB: 2 ** 50, EiB: 2 ** 60 };
/** "24.0 MiB / 512 MiB" (a memory cell) → bytes of the used figure. */
const bytesOf = (text) => {
  const m = /^([\d.]+) (B|KiB|MiB|GiB|TiB|PiB|EiB)/.exec(text.trim());
  return m ? Number(m[1]) * UNITS[m[2]] : NaN;
};
/** "12m 3s", "5h 7m", "3d 4h", "45s" (an uptime cell) → seconds. */
const secondsOf = (text) => {
  const scale = { d: 86_400, h: 3_600, m: 60, s: 1 };
  const parts = [...text.trim().matchAll(/(\d+)([dhms])/g)];
  return parts.length ? parts.reduce((sum, [, n, unit]) => sum + Number(n) * scale[unit], 0) : NaN;
};
const nonIncreasing = (xs) => xs.every((x, i) => i === 0 || xs[i - 1] >= x);

/** Name, memory and uptime cells of every row of `card`, in displayed order, read at once. */
const rowsOf = (card) => card.getByTestId('container-row').evaluateAll((rows) => rows
  .map((r) => {
    const cell = (id) => r.querySelector(`[data-testid="${id}"]`).textContent.trim();
    return [Number(r.getAttribute('aria-rowindex')), { name: cell('container-name'), mem: cell('container-mem'), uptime: cell('container-uptime') }];
  })
  .sort((a, b) => a[0] - b[0])
  .map(([, row]) => row));

/**
 * Waits (at most `timeout`) for a snapshot of the rows that `check` accepts; figures move every
 * second, so a snapshot taken between an update and the re-sort may be off once. Fails with the
 * last snapshot.
 */
async function waitForRows(card, what, check, timeout = 3_000) {
  const deadline = Date.now() + timeout;
  let rows;
  for (;;) {
    rows = await rowsOf(card);
    if (check(rows)) return rows;
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(rows)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('column headers sort, the filter spans agents, a row opens the detail chart', async () => {
  const [a, b] = [agentA(), agentB()];
  const dash = new DashboardPage(browser.page);
  await dash.open(httpUrl(a.port, `?agents=127.0.0.1:${synthPort},127.0.0.1:${b.port}`));
  await dash.waitForState(wsUrl(synthPort), 'live');
  await browser.page.waitForFunction(
    (url) => document.querySelectorAll(`[data-agent-url="${url}"] [data-testid="container-row"]`).length === 12,
    wsUrl(synthPort),
  );
  const card = dash.card(wsUrl(synthPort));

  await card.getByTestId('sort-name').click();
  await browser.page.waitForTimeout(300);
  let names = await dash.rowNames(wsUrl(synthPort));
  assert.deepEqual(names, sortedCopy(names, (x, y) => x.toLowerCase().localeCompare(y.toLowerCase())));
  assert.equal(await card.getByTestId('sort-name').locator('xpath=..').getAttribute('aria-sort'), 'ascending');

  await card.getByTestId('sort-name').click();
  await browser.page.waitForTimeout(300);
  names = await dash.rowNames(wsUrl(synthPort));
  assert.deepEqual(names, sortedCopy(names, (x, y) => y.toLowerCase().localeCompare(x.toLowerCase())));

  // Memory, descending: the rows in order of their displayed memory, largest first.
  await card.getByTestId('sort-mem').click();
  assert.equal(await card.getByTestId('sort-mem').locator('xpath=..').getAttribute('aria-sort'), 'descending');
  const byMem = await waitForRows(card, 'rows not in descending order of memory', (rows) => {
    const mem = rows.map((r) => bytesOf(r.mem));
    return rows.length === 12 && mem.every(Number.isFinite) && nonIncreasing(mem);
  });
  assert.ok(new Set(byMem.map((r) => r.mem)).size > 6, `memory figures too alike to show an order: ${byMem.map((r) => r.mem)}`);

  // Uptime, descending: synthetic container i has run i minutes longer than container 0, so the
  // order is known exactly, and the displayed uptimes fall down the table.
  await card.getByTestId('sort-uptime').click();
  assert.equal(await card.getByTestId('sort-uptime').locator('xpath=..').getAttribute('aria-sort'), 'descending');
  const expected = sortedCopy(names, (x, y) => y.localeCompare(x));
  const byUptime = await waitForRows(card, 'rows not in descending order of uptime', (rows) => {
    const up = rows.map((r) => secondsOf(r.uptime));
    return rows.length === 12 && up.every(Number.isFinite) && nonIncreasing(up);
  });
  assert.deepEqual(byUptime.map((r) => r.name), expected);

  // Filter by one name: only that row remains, on every card; agent B's real containers are
  // hidden (it says "no match", not "no containers").
  const bCard = dash.card(wsUrl(b.port));
  await browser.page.waitForFunction(
    ([url, want]) => {
      const shown = [...document.querySelectorAll(`[data-agent-url="${url}"] [data-testid="container-name"]`)].map((c) => c.textContent.trim());
      return want.every((name) => shown.includes(name));
    },
    [wsUrl(b.port), real],
    { timeout: 10_000 },
  );
  const target = names[3];
  await dash.filter(target);
  await browser.page.waitForFunction(
    ([url, name]) => {
      const cells = [...document.querySelectorAll(`[data-agent-url="${url}"] [data-testid="container-name"]`)];
      return cells.length === 1 && cells[0].textContent.trim() === name;
    },
    [wsUrl(synthPort), target],
  );
  await bCard.getByTestId('no-match').waitFor();
  assert.equal(await bCard.getByTestId('container-row').count(), 0);

  // A name on agent B only: its row remains there, and the synthetic card has none.
  await dash.filter('ds-e2e-filter-alpha');
  await browser.page.waitForFunction(
    (url) => document.querySelectorAll(`[data-agent-url="${url}"] [data-testid="container-row"]`).length === 1,
    wsUrl(b.port),
  );
  assert.deepEqual(await dash.rowNames(wsUrl(b.port)), ['ds-e2e-filter-alpha']);
  await card.getByTestId('no-match').waitFor();

  await dash.filter('no-container-is-called-this');
  await card.getByTestId('no-match').waitFor();
  await bCard.getByTestId('no-match').waitFor();
  await dash.filter('');

  // Selecting a row opens the detail chart (an ECharts chart) for it.
  await card.getByTestId('container-row').first().click();
  await card.locator('[data-testid="detail-chart"] :is(svg, canvas)').waitFor({ timeout: 5_000 });
  assert.match(await card.getByTestId('detail-title').textContent(), /CPU and memory/);
  await card.locator('[data-testid="totals-chart"] :is(svg, canvas)').waitFor();
  await screenshot(browser.page, 'interactions-detail-chart');
  await card.getByTestId('close-detail').click();
  assert.equal(await card.getByTestId('detail-chart').count(), 0);
  await dash.assertNoPageErrors(browser.errors);
});

test('export downloads the list as JSON; import adds agents from a file', async () => {
  const [a, b] = [agentA(), agentB()];
  const dash = new DashboardPage(browser.page);
  await dash.open(httpUrl(a.port));
  await dash.waitForState(wsUrl(a.port), 'live');

  const [download] = await Promise.all([
    browser.page.waitForEvent('download'),
    browser.page.getByTestId('export-agents').click(),
  ]);
  assert.equal(download.suggestedFilename(), 'dockscope-agents.json');
  const { rules, ...exported } = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
  assert.deepEqual(exported, { version: 1, agents: [wsUrl(a.port)] });
  assert.equal(rules.length, 6, 'the alert rules travel with the list (attention.test.mjs)');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dockscope-import-'));
  const good = path.join(dir, 'agents.json');
  fs.writeFileSync(good, JSON.stringify([`http://127.0.0.1:${b.port}`, `127.0.0.1:${a.port}`]));
  await browser.page.getByTestId('import-agents').setInputFiles(good);
  await dash.waitForState(wsUrl(b.port), 'live');
  assert.match(await browser.page.getByTestId('import-result').textContent(), /Imported 1 agent/);
  assert.deepEqual(await dash.savedUrls(), [wsUrl(a.port), wsUrl(b.port)]);

  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, '{"version":1,"agents":["not a url"]}');
  await browser.page.getByTestId('import-agents').setInputFiles(bad);
  await browser.page.getByTestId('import-error').waitFor();
  assert.deepEqual(await dash.cardUrls(), [wsUrl(a.port), wsUrl(b.port)], 'a bad file changes nothing');
  fs.rmSync(dir, { recursive: true, force: true });
  await dash.assertNoPageErrors(browser.errors);
});
