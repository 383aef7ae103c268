// dockerd killed under a running agent: the card stays live (the agent is fine) and says the
// engine is unreachable; when the engine is back, the card says so and new containers show up.
// Takes the engine away from everything else, so end2end/run.sh runs this file last, alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, screenshot } from './fixtures/browser.mjs';
import { agentA, httpUrl, runContainer, removeContainer, wsUrl } from './fixtures/agents.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

const DOCKER_UP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/docker-up.sh');
const engineUp = () => execFileSync('bash', [DOCKER_UP], { stdio: ['ignore', 'ignore', 'inherit'] });

let browser;
let container;
before(async () => { browser = await launch(); });
after(async () => {
  await browser?.close();
  engineUp(); // whatever happened, leave an engine behind
  if (container) removeContainer(container);
});

const engineText = (dash, url) => dash.card(url).getByTestId('engine-state').textContent();

async function waitForEngine(page, url, pattern, timeout) {
  await page.waitForFunction(
    ([u, source]) => new RegExp(source).test(
      document.querySelector(`[data-agent-url="${u}"] [data-testid="engine-state"]`)?.textContent ?? ''),
    [url, pattern.source],
    { timeout },
  );
}

test('dockerd killed and restarted: the card shows the outage and recovers without a reload', async () => {
  const a = agentA();
  const url = wsUrl(a.port);
  const dash = new DashboardPage(browser.page);
  await dash.open(httpUrl(a.port, `?agents=127.0.0.1:${a.port}`));
  await dash.waitForState(url, 'live');
  await waitForEngine(browser.page, url, /^reachable/, 10_000);

  const killedAt = Date.now();
  execFileSync('pkill', ['-KILL', '-x', 'dockerd']);
  await waitForEngine(browser.page, url, /^unreachable: .*docker/i, 10_000);
  const shownMs = Date.now() - killedAt;
  assert.equal(await dash.state(url).textContent(), 'live', 'the agent itself is still connected');
  await screenshot(browser.page, 'engine-outage');

  engineUp();
  const backAt = Date.now();
  container = runContainer('after-engine-restart', { command: ['sleep', '100000'] });
  await waitForEngine(browser.page, url, /^reachable/, 10_000);
  await dash.filter('ds-e2e-after-engine');
  await dash.card(url).getByTestId('container-name').first().waitFor({ timeout: 10_000 });
  assert.deepEqual(await dash.rowNames(url), [container]);
  console.log(`# outage on the card ${shownMs} ms after the kill; data ${Date.now() - backAt} ms after the engine was back`);
  assert.match(await engineText(dash, url), /^reachable/);
  await dash.assertNoPageErrors(browser.errors);
});
