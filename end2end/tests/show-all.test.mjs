// A card shows its 25 busiest containers, re-ordered every second; "Show all" lists every
// container and re-orders them at most every 5 s (rows stay put long enough to read, and the
// page stays inside its frame budget), and "Show the busiest only" goes back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot } from './fixtures/browser.mjs';
import { agentA, freePort, httpUrl, spawnAgent, wsUrl } from './fixtures/agents.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

const CONTAINERS = 40;
let browser;
let synth;
let port;
before(async () => {
  browser = await launch();
  port = await freePort();
  synth = await spawnAgent({ id: 'e2e-many', port, extraArgs: ['--synthetic-containers', String(CONTAINERS)] });
});
after(async () => {
  await browser?.close();
  await synth?.kill('SIGTERM');
});

/** Samples the card's row order every 250 ms for `ms`; returns the times (ms) it changed. */
async function orderChanges(dash, url, ms) {
  const changes = [];
  let last = (await dash.rowNames(url)).join();
  const start = Date.now();
  while (Date.now() - start < ms) {
    await dash.page.waitForTimeout(250);
    const now = (await dash.rowNames(url)).join();
    if (now !== last) changes.push(Date.now() - start);
    last = now;
  }
  return changes;
}

test('25 busiest by default, "Show all" lists every container and re-orders every 5 s', async () => {
  const a = agentA();
  const url = wsUrl(port);
  const dash = new DashboardPage(browser.page);
  await dash.open(httpUrl(a.port, `?agents=127.0.0.1:${port}`));
  await dash.waitForState(url, 'live');
  const card = dash.card(url);
  await browser.page.waitForFunction(
    (u) => document.querySelectorAll(`[data-agent-url="${u}"] [data-testid="container-row"]`).length === 25,
    url,
  );
  assert.match(await card.getByTestId('shown-count').textContent(), new RegExp(`Showing 25 of ${CONTAINERS} containers`));
  // The top rows follow the figures every second.
  const topChanges = await orderChanges(dash, url, 6_000);
  assert.ok(topChanges.length >= 3, `top-25 order changed only at ${topChanges} ms`);

  await card.getByTestId('show-all').click();
  await browser.page.waitForFunction(
    ([u, n]) => document.querySelectorAll(`[data-agent-url="${u}"] [data-testid="container-row"]`).length === n,
    [url, CONTAINERS],
  );
  assert.match(await card.getByTestId('shown-count').textContent(), /Showing all 40 containers; their order refreshes every 5 s/);
  const allChanges = await orderChanges(dash, url, 12_000);
  console.log(`# order changes: top 25 at ${topChanges} ms; show all at ${allChanges} ms`);
  assert.ok(allChanges.length >= 1, 'the full list is re-ordered too');
  for (let i = 1; i < allChanges.length; i++) {
    assert.ok(allChanges[i] - allChanges[i - 1] >= 4_500, `re-ordered too often: ${allChanges} ms`);
  }
  await screenshot(browser.page, 'show-all');

  await card.getByTestId('show-all').click();
  await browser.page.waitForFunction(
    (u) => document.querySelectorAll(`[data-agent-url="${u}"] [data-testid="container-row"]`).length === 25,
    url,
  );
  await dash.assertNoPageErrors(browser.errors);
});
