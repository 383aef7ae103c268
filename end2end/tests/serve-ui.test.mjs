// The page served by an agent (--serve-ui) adds that agent itself, goes live and lists the
// engine's real containers sorted by CPU, busiest first.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot } from './fixtures/browser.mjs';
import { agentA, httpUrl, wsUrl, runContainer, removeContainer } from './fixtures/agents.mjs';
import { DashboardPage, percent } from './fixtures/dashboard.mjs';

let browser;
const containers = [];

before(async () => {
  // A busy loop held to a fifth of a core, and an idle sleeper.
  containers.push(runContainer('busy', { cpus: 0.2, command: ['sh', '-c', 'while :; do :; done'] }));
  containers.push(runContainer('idle', { command: ['sleep', '100000'] }));
  browser = await launch();
});

after(async () => {
  await browser?.close();
  containers.forEach(removeContainer);
});

test('served page adds its own agent, goes live and sorts real containers by CPU', async () => {
  const a = agentA();
  const dash = new DashboardPage(browser.page);
  await dash.open(httpUrl(a.port));

  await dash.waitForState(wsUrl(a.port), 'live');
  assert.deepEqual(await dash.cardUrls(), [wsUrl(a.port)], 'exactly the serving agent');
  await dash.waitForAgentName(wsUrl(a.port), a.id);

  // Narrowed to this test's containers (the engine may run others), the busy one is first
  // once CPU has two readings.
  await dash.filter('ds-e2e-');
  await browser.page.waitForFunction(
    (url) => {
      const card = document.querySelector(`[data-testid="agent-card"][data-agent-url="${url}"]`);
      const names = [...card.querySelectorAll('[data-testid="container-name"]')].map((c) => c.textContent);
      const cpu = card.querySelector('[data-testid="container-cpu"]')?.textContent ?? '';
      return names.length === 2 && names[0] === 'ds-e2e-busy' && names[1] === 'ds-e2e-idle' && Number.parseFloat(cpu) >= 5;
    },
    wsUrl(a.port),
    { timeout: 20_000 },
  );
  const busyCpu = percent((await dash.rowCpus(wsUrl(a.port)))[0]);
  assert.ok(busyCpu > 5 && busyCpu < 40, `busy container under --cpus 0.2 shows ${busyCpu} %`);

  // Unfiltered, the whole table is in descending CPU order (unknown figures last).
  await dash.filter('');
  await browser.page.waitForTimeout(500);
  const cpus = (await dash.rowCpus(wsUrl(a.port))).map(percent);
  const known = cpus.filter((v) => !Number.isNaN(v));
  assert.ok(cpus.length >= 2);
  assert.deepEqual(known, [...known].sort((x, y) => y - x), `CPU column not descending: ${cpus}`);

  // Card facts come from agent_status.
  const card = dash.card(wsUrl(a.port));
  assert.match(await card.getByTestId('engine-state').textContent(), /^reachable/);
  assert.notEqual(await card.getByTestId('agent-version').textContent(), 'unknown');
  assert.equal(await card.getByTestId('synthetic-badge').count(), 0, 'a real agent is not synthetic');
  await screenshot(browser.page, 'serve-ui-live-sorted');
  await dash.assertNoPageErrors(browser.errors);
});
