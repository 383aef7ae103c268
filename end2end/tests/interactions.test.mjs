// Sorting by a clicked column, filtering across agents, the detail chart of a selected
// container, and exporting/importing the agent list as a JSON file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, screenshot } from './fixtures/browser.mjs';
import { agentA, agentB, freePort, httpUrl, spawnAgent, wsUrl } from './fixtures/agents.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

let browser;
let synth;
let synthPort;
before(async () => {
  browser = await launch();
  synthPort = await freePort();
  synth = await spawnAgent({ id: 'e2e-sort', port: synthPort, extraArgs: ['--synthetic-containers', '12'] });
});
after(async () => {
  await browser?.close();
  await synth?.kill('SIGTERM');
});

const sortedCopy = (xs, cmp) => [...xs].sort(cmp);

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

  for (const column of ['sort-mem', 'sort-uptime']) {
    await card.getByTestId(column).click();
    assert.equal(await card.getByTestId(column).locator('xpath=..').getAttribute('aria-sort'), 'descending');
  }

  // Filter by one name: only that row remains, on every card.
  const target = names[3];
  await dash.filter(target);
  await browser.page.waitForFunction(
    ([url, name]) => {
      const cells = [...document.querySelectorAll(`[data-agent-url="${url}"] [data-testid="container-name"]`)];
      return cells.length >= 1 && cells.every((c) => c.textContent.toLowerCase().includes(name.toLowerCase()));
    },
    [wsUrl(synthPort), target],
  );
  await dash.filter('no-container-is-called-this');
  await card.getByTestId('no-match').waitFor();
  await dash.card(wsUrl(b.port)).getByTestId('no-match').or(dash.card(wsUrl(b.port)).getByTestId('no-containers')).waitFor();
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
  const exported = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
  assert.deepEqual(exported, { version: 1, agents: [wsUrl(a.port)] });

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
