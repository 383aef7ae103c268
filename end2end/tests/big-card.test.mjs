// One card of 10,000 containers (a real agent, --synthetic-containers 10000, ~2 MB a second)
// stays responsive: its busiest rows show, the filter searches all 10,000 and answers at once,
// and decoding a batch never holds the main thread for long (the figures against the issue's
// targets are in docs/benchmarks.md, from end2end/bench/run.sh big).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot } from './fixtures/browser.mjs';
import { agentA, freePort, httpUrl, spawnAgent, wsUrl } from './fixtures/agents.mjs';
import { DashboardPage, percent, readDrawn } from './fixtures/dashboard.mjs';
import { longTasksSince, pageNow, recordLongTasks } from './fixtures/longtasks.mjs';

const COUNT = 10_000;
let browser;
let agent;
let port;
before(async () => {
  browser = await launch({ viewport: { width: 1400, height: 1000 } });
  port = await freePort();
  agent = await spawnAgent({ id: 'e2e-big', port, extraArgs: ['--synthetic-containers', String(COUNT)] });
});
after(async () => {
  await browser?.close();
  await agent?.kill('SIGTERM');
});

test('a card of 10,000 containers shows its busiest, filters all of them, and keeps the page smooth', async () => {
  const a = agentA();
  const page = browser.page;
  await recordLongTasks(page);
  const dash = new DashboardPage(page);
  const url = wsUrl(port);
  await dash.open(httpUrl(a.port, `?agents=127.0.0.1:${port}`));
  await dash.waitForState(url, 'live', 20_000);
  const card = dash.card(url);
  await page.waitForFunction((u) => document.querySelector(`[data-agent-url="${u}"] [data-testid="shown-count"]`)
    ?.textContent.startsWith('Showing 25 of 10000 containers'), url, { timeout: 10_000 });
  assert.equal(await readDrawn(page, url, (u) => document.querySelectorAll(`[data-agent-url="${u}"] [data-testid="container-row"]`).length), 25);
  const cpus = (await dash.rowCpus(url)).map(percent);
  assert.ok(cpus.every((c, i) => i === 0 || c <= cpus[i - 1]), `busiest first: ${cpus}`);
  await screenshot(page, 'big-card');

  // Steady updates after load: no long main-thread task while batches of 10,000 arrive.
  const since = await pageNow(page);
  const before = await dash.rowCpus(url);
  await page.waitForFunction(([u, old]) => [...document.querySelectorAll(
    `[data-agent-url="${u}"] [data-testid="container-cpu"]`)].map((e) => e.textContent).join() !== old,
  [url, before.join()], { timeout: 5_000 });
  await page.waitForTimeout(5_000);

  // The filter searches all 10,000 names: one container, then a hundred-odd, then none.
  const cases = [['synthetic-4242', 1], ['synthetic-12', 25], ['synthetic-31', 25], ['no-such-name', 0], ['', 25]];
  const answers = [];
  for (const [needle, rows] of cases) {
    const ms = await page.evaluate(([text, want]) => new Promise((resolve) => {
      const input = document.querySelector('[data-testid="filter-input"]');
      const start = performance.now();
      input.value = text;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      const done = () => {
        const names = [...document.querySelectorAll('[data-testid="container-name"]')].map((e) => e.textContent);
        // Every rendered row drawn (a frame draws a few; the table is busy until then).
        const drawn = document.querySelector('[data-testid="container-table"]').getAttribute('aria-busy') !== 'true';
        const ok = want === 0
          ? document.querySelector('[data-testid="no-match"]') !== null
          : drawn && names.length === want && names.every((n) => n.includes(text));
        if (ok) resolve(performance.now() - start);
        else requestAnimationFrame(done);
      };
      requestAnimationFrame(done);
    }), [needle, rows]);
    answers.push(ms);
  }
  const median = [...answers].sort((x, y) => x - y)[Math.floor(answers.length / 2)];
  assert.ok(median < 100, `filter answers in < 100 ms (median), got ${answers.map((m) => m.toFixed(0)).join(', ')} ms`);

  const tasks = await longTasksSince(page, since);
  assert.ok(!tasks.length || tasks[0].duration <= 200,
    `no main-thread task over 200 ms, got ${tasks.map((t) => t.duration.toFixed(0)).join(', ')} ms`);
  assert.equal(await dash.state(url).textContent(), 'live');
  await dash.assertNoPageErrors(browser.errors);
});
