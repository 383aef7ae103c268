// dockerd killed under a running agent: the card stays live (the agent is fine) and says the
// engine is unreachable; when the engine is back, the card says so and new containers show up.
// An alert that holds when the engine goes is held through the outage (its empty batches are
// nothing read, not every container gone), so the engine's return notifies nothing again.
// The engine is a private one (fixtures/private-engine.mjs) with its own agent, so the shared
// engine and the other agents are never touched; it is removed after the spec whatever happens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot } from './fixtures/browser.mjs';
import { TEST_IMAGE, agentA, freePort, httpUrl, spawnAgent, wsUrl } from './fixtures/agents.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';
import { AttentionPanel } from './fixtures/attention.mjs';
import { PrivateEngine } from './fixtures/private-engine.mjs';

let browser;
let engine;
let agent;
let port;
before(async () => {
  engine = new PrivateEngine('outage');
  await engine.start();
  port = await freePort();
  agent = await spawnAgent({ id: 'e2e-outage', port, extraArgs: ['--docker-endpoint', engine.endpoint] });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await agent?.kill('SIGTERM');
  await engine?.stop();
});

async function waitForEngine(page, url, pattern, timeout) {
  await page.waitForFunction(
    ([u, source]) => new RegExp(source).test(
      document.querySelector(`[data-agent-url="${u}"] [data-testid="engine-state"]`)?.textContent ?? ''),
    [url, pattern.source],
    { timeout },
  );
}

test('dockerd killed and restarted: the card shows the outage and recovers without a reload', async () => {
  const crashed = engine.runSleeper('before-engine-crash');
  // Its health check never passes: the default "unhealthy" rule fires on it.
  const sick = 'ds-e2e-outage-sick';
  engine.docker('run', '-d', '--name', sick, '--label', 'dockscope-e2e=1',
    '--health-cmd', 'test -e /tmp/healthy', '--health-interval', '1s', '--health-retries', '1',
    TEST_IMAGE, 'sleep', '100000');
  const url = wsUrl(port);
  const dash = new DashboardPage(browser.page);
  const attention = new AttentionPanel(browser.page);
  await dash.open(httpUrl(agentA().port, `?agents=127.0.0.1:${port}`));
  await dash.waitForState(url, 'live');
  await waitForEngine(browser.page, url, /^reachable/, 10_000);
  const alert = await attention.waitForLine('unhealthy before the crash', (l) => l.container === sick);
  // The card shows the private engine's container: this agent reads that engine.
  await dash.filter('ds-e2e-before-engine');
  await dash.card(url).getByTestId('container-name').first().waitFor({ timeout: 10_000 });
  assert.deepEqual(await dash.rowNames(url), [crashed]);

  const killedAt = Date.now();
  await engine.kill();
  await waitForEngine(browser.page, url, /^unreachable: .*docker/i, 10_000);
  const shownMs = Date.now() - killedAt;
  assert.equal(await dash.state(url).textContent(), 'live', 'the agent itself is still connected');
  // Three more of the agent's batches, all empty while the engine is gone: the alert holds,
  // with the time it began.
  await browser.page.waitForTimeout(3_000);
  const held = (await attention.lines()).filter((l) => l.container === sick);
  assert.deepEqual(held.map((l) => l.t), [alert.t], 'the alert is held through the outage, not cleared');
  await screenshot(browser.page, 'engine-outage');

  // The restart can take long on a busy machine; the limits below start once it answers.
  const restartAt = Date.now();
  await engine.start();
  const backAt = Date.now();
  const fresh = engine.runSleeper('after-engine-restart');
  await waitForEngine(browser.page, url, /^reachable/, 10_000);
  await dash.filter('ds-e2e-after-engine');
  await dash.card(url).getByTestId('container-name').first().waitFor({ timeout: 10_000 });
  assert.deepEqual(await dash.rowNames(url), [fresh]);
  // The container the crash stopped is no longer running: it is listed as stopped (contract
  // 5's `exited`), with no running row left under its name.
  await dash.filter('ds-e2e-before-engine');
  await dash.card(url).getByTestId('stopped-row').first().waitFor({ timeout: 10_000 });
  assert.equal(await dash.card(url).getByTestId('container-row').count(), 0);
  console.log(`# outage on the card ${shownMs} ms after the kill; engine restart took ${backAt - restartAt} ms; data ${Date.now() - backAt} ms after the engine was back`);
  assert.match(await dash.card(url).getByTestId('engine-state').textContent(), /^reachable/);
  await dash.assertNoPageErrors(browser.errors);
});
