// One agent going away never blocks the others: a killed agent's card says "disconnected"
// within 10 s while the other stays live, and it comes back on its own when the agent does.
// Same for an agent frozen with SIGSTOP for 15 s (its socket stays open but goes silent).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot } from './fixtures/browser.mjs';
import { browserSession } from './fixtures/session.mjs';
import { agentA, freePort, httpUrl, spawnAgent, wsUrl } from './fixtures/agents.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

const browser = browserSession();
const owned = [];
browser.cleanups.push(async () => {
  for (const agent of owned) await agent.kill('SIGKILL');
});

async function openWith(dash, a, port) {
  await dash.open(httpUrl(a.port, `?agents=127.0.0.1:${a.port},127.0.0.1:${port}`));
  await dash.waitForState(wsUrl(a.port), 'live');
  await dash.waitForState(wsUrl(port), 'live');
}

test('killed agent: disconnected within 10 s, others live, back by itself when restarted', async () => {
  const a = agentA();
  const port = await freePort();
  let c = await spawnAgent({ id: 'e2e-c', port });
  owned.push(c);
  const dash = new DashboardPage(browser.page);
  await openWith(dash, a, port);

  // SIGKILL: no close frame, the socket just dies.
  const stoppedAt = Date.now();
  await c.kill('SIGKILL');
  await dash.waitForState(wsUrl(port), 'disconnected', 10_000);
  const detectedMs = Date.now() - stoppedAt;
  assert.equal(await dash.state(wsUrl(a.port)).textContent(), 'live', 'the other agent stays live');
  assert.equal(await dash.card(wsUrl(port)).getByTestId('retry-now').isVisible(), true);
  await screenshot(browser.page, 'outage-stopped');

  // Let a few retries fail, then bring it back: the card goes live without a reload.
  await browser.page.waitForTimeout(3_000);
  assert.equal(await dash.state(wsUrl(port)).textContent(), 'disconnected');
  c = await spawnAgent({ id: 'e2e-c', port });
  owned.push(c);
  const restartedAt = Date.now();
  await dash.waitForState(wsUrl(port), 'live', 20_000);
  console.log(`# stop detected in ${detectedMs} ms; live again ${Date.now() - restartedAt} ms after restart`);
  assert.equal(await dash.state(wsUrl(a.port)).textContent(), 'live');
  await dash.assertNoPageErrors(browser.errors);
  await c.kill('SIGTERM');
});

test('agent stopped with SIGSTOP for 15 s: disconnected within 10 s, live again by itself after SIGCONT', async () => {
  const a = agentA();
  const port = await freePort();
  const c = await spawnAgent({ id: 'e2e-frozen', port });
  owned.push(c);
  const dash = new DashboardPage(browser.page);
  await openWith(dash, a, port);

  const frozenAt = Date.now();
  await c.kill('SIGSTOP');
  await dash.waitForState(wsUrl(port), 'disconnected', 10_000);
  const detectedMs = Date.now() - frozenAt;
  assert.match(await dash.card(wsUrl(port)).getByTestId('agent-state-detail').textContent(), /no (message|answer)/);
  assert.equal(await dash.state(wsUrl(a.port)).textContent(), 'live');
  await screenshot(browser.page, 'outage-sigstop');

  // Frozen for 15 s in all; nobody clicks "retry now": the backoff brings it back.
  await browser.page.waitForTimeout(Math.max(0, frozenAt + 15_000 - Date.now()));
  assert.equal(await dash.state(wsUrl(port)).textContent(), 'disconnected');
  await c.kill('SIGCONT');
  const resumedAt = Date.now();
  await dash.waitForState(wsUrl(port), 'live', 30_000);
  console.log(`# SIGSTOP detected in ${detectedMs} ms; live again ${Date.now() - resumedAt} ms after SIGCONT`);
  await dash.assertNoPageErrors(browser.errors);
  await c.kill('SIGTERM');
});
