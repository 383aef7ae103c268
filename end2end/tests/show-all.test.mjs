// A card shows its 25 busiest containers, re-ordered every second; "Show all" lists every
// container and re-orders them at most every 5 s (rows stay put long enough to read, and the
// page stays inside its frame budget), and "Show the busiest only" goes back. A long list
// renders only the rows near the viewport: scrolling reaches every container, without gaps.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot } from './fixtures/browser.mjs';
import { agentA, freePort, httpUrl, spawnAgent, wsUrl } from './fixtures/agents.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

const CONTAINERS = 100;
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

const rowCount = (page, url) =>
  page.evaluate((u) => document.querySelectorAll(`[data-agent-url="${u}"] [data-testid="container-row"]`).length, url);

/**
 * Scrolls the page from top to bottom in half-viewport steps; returns every container name
 * seen, the most rows rendered at once, the rows drawn away from their rank (`aria-rowindex`)
 * times the row height, whether the ranks on screen have gaps, and the blank space below the
 * last row at the end.
 */
async function scrollThrough(page, url) {
  return page.evaluate(async (u) => {
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const names = new Set();
    let most = 0;
    const misplaced = [];
    const gaps = [];
    window.scrollTo(0, 0);
    const table = document.querySelector(`[data-agent-url="${u}"] [data-testid="container-table"]`);
    for (;;) {
      await frame();
      // The rows a scroll brings in are drawn over a few frames; the table is busy until then.
      for (let i = 0; i < 600 && table.getAttribute('aria-busy') === 'true'; i++) await frame();
      const body = document.querySelector(`[data-agent-url="${u}"] [role="rowgroup"].body`);
      const rows = [...body.querySelectorAll('[data-testid="container-row"]')]
        .map((row) => ({ row, rank: Number(row.getAttribute('aria-rowindex')) - 2 }))
        .sort((a, b) => a.rank - b.rank);
      most = Math.max(most, rows.length);
      const bodyTop = body.getBoundingClientRect().top;
      rows.forEach(({ row, rank }, i) => {
        names.add(row.querySelector('[data-testid="container-name"]').textContent);
        const expected = bodyTop + rank * row.offsetHeight;
        if (Math.abs(row.getBoundingClientRect().top - expected) > 1) misplaced.push(rank);
        if (i > 0 && rank !== rows[i - 1].rank + 1) gaps.push(rank);
      });
      const atEnd = window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 1;
      // Stopped containers (contract 5's `exited`) follow the running ones: the last row of
      // either kind must meet the bottom of the table.
      const lastBottom = Math.max(...[...body.querySelectorAll('[data-testid="container-row"], [data-testid="stopped-row"]')]
        .map((row) => row.getBoundingClientRect().bottom));
      if (atEnd) {
        return { names: [...names], most, misplaced, gaps, gapBelowLast: body.getBoundingClientRect().bottom - lastBottom };
      }
      window.scrollBy(0, window.innerHeight / 2);
    }
  }, url);
}

/** Samples the card's row order every 250 ms for `ms` (each sample read once every rendered
 * row is drawn); returns the times (ms) it changed. A busy machine can stretch a re-order's
 * frames past a sample: changes within 500 ms of the one before count as that re-order. */
async function orderChanges(dash, url, ms) {
  const changes = [];
  let last = (await dash.rowNames(url)).join();
  let lastChange = -Infinity;
  const start = Date.now();
  while (Date.now() - start < ms) {
    await dash.page.waitForTimeout(250);
    const now = (await dash.rowNames(url)).join();
    const at = Date.now() - start;
    if (now !== last && at - lastChange > 500) changes.push(at);
    if (now !== last) lastChange = at;
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
    (u) => /Showing all/.test(document.querySelector(`[data-agent-url="${u}"] [data-testid="shown-count"]`)?.textContent),
    url,
  );
  assert.match(await card.getByTestId('shown-count').textContent(), new RegExp(`Showing all ${CONTAINERS} containers; their order refreshes every 5 s`));
  // More rows than at first, but only those near the viewport (this one is 900 px tall).
  await browser.page.waitForFunction((u) => document.querySelectorAll(`[data-agent-url="${u}"] [data-testid="container-row"]`).length > 25, url);
  assert.ok((await rowCount(browser.page, url)) < CONTAINERS, 'rows far below the viewport are not rendered');
  const allChanges = await orderChanges(dash, url, 12_000);
  console.log(`# order changes: top 25 at ${topChanges} ms; show all at ${allChanges} ms`);
  assert.ok(allChanges.length >= 1, 'the full list is re-ordered too');
  for (let i = 1; i < allChanges.length; i++) {
    assert.ok(allChanges[i] - allChanges[i - 1] >= 4_500, `re-ordered too often: ${allChanges} ms`);
  }
  await screenshot(browser.page, 'show-all');

  // Scrolling down the page reaches every container, each row where its rank puts it.
  const seen = await scrollThrough(browser.page, url);
  console.log(`# scrolled through: ${seen.names.length} names seen, at most ${seen.most} rows rendered at once`);
  assert.equal(new Set(seen.names).size, CONTAINERS, `seen: ${seen.names}`);
  assert.ok(seen.most < CONTAINERS, `rendered ${seen.most} rows at once`);
  assert.deepEqual(seen.misplaced, [], 'every rendered row sits at its rank');
  assert.deepEqual(seen.gaps, [], 'the rendered rows are consecutive');
  assert.ok(Math.abs(seen.gapBelowLast) <= 1, `blank space below the last row: ${seen.gapBelowLast} px`);
  await screenshot(browser.page, 'show-all-scrolled-to-end');
  await browser.page.evaluate(() => window.scrollTo(0, 0));

  await card.getByTestId('show-all').click();
  await browser.page.waitForFunction(
    (u) => document.querySelectorAll(`[data-agent-url="${u}"] [data-testid="container-row"]`).length === 25,
    url,
  );
  await dash.assertNoPageErrors(browser.errors);
});
