// An agent written by someone else against the original contract (contract 1 in
// docs/protocol.md) is shown like ours: a fake agent that sends exactly the two documented
// payloads, without any field added later, gets a live card with nginx at 24.5 %, 122 MiB of
// 512 MiB, and no protocol error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot } from './fixtures/browser.mjs';
import { browserSession } from './fixtures/session.mjs';
import { agentA, freePort, httpUrl, wsUrl } from './fixtures/agents.mjs';
import { startFakeAgent } from './fixtures/fake-agent.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

// Verbatim from the contract (and crates/protocol/tests/golden.rs).
const ORIGINAL_BATCH = '{"type":"container_stats_batch","agent_id":"host-a","sent_at":"2025-10-15T10:00:00Z","containers":[{"id":"abc123","name":"nginx","cpu_pct":24.5,"mem_bytes":128345600,"mem_limit_bytes":536870912,"uptime_secs":532}],"agent_metrics":{"cpu_pct":4.2,"mem_bytes":66469888}}';
const ORIGINAL_STATUS = '{"type":"agent_status","agent_id":"host-a","sent_at":"2025-10-15T10:00:05Z","uptime_secs":3600,"version":"v1.0.0","features":["container_stats"]}';

const browser = browserSession();
const { cleanups } = browser;

test('an agent speaking only the original contract gets a live card with its figures', async () => {
  const a = agentA();
  const port = await freePort();
  let batchesSent = 0;
  // On connect the status, then the batch once a second, as the contract describes.
  const fake = await startFakeAgent(port, (send, tick) => {
    if (tick === 0) send(ORIGINAL_STATUS);
    send(ORIGINAL_BATCH);
    batchesSent += 1;
  });
  cleanups.push(fake.close);

  const url = wsUrl(port);
  const dash = new DashboardPage(browser.page);
  await dash.open(httpUrl(a.port, `?agents=127.0.0.1:${port}&debug=true`));
  await dash.waitForState(url, 'live');
  await dash.waitForAgentName(url, 'host-a');
  const card = dash.card(url);
  await card.getByTestId('container-row').first().waitFor({ timeout: 10_000 });

  assert.deepEqual(await dash.rowNames(url), ['nginx']);
  assert.deepEqual(await dash.rowCpus(url), ['24.5 %']);
  assert.deepEqual(await dash.column(url, 'container-mem'), ['122 MiB / 512 MiB']);
  assert.equal(await card.getByTestId('agent-version').textContent(), 'v1.0.0');
  // No engine_reachable in contract 1: not reported, which is not an outage.
  assert.equal(await card.getByTestId('engine-state').textContent(), 'not reported');

  // Still live, and never an error, after more batches of the same shape have arrived.
  const target = batchesSent + 3;
  const deadline = Date.now() + 10_000;
  while (batchesSent < target && Date.now() < deadline) {
    await browser.page.waitForTimeout(100);
  }
  assert.ok(batchesSent >= target, `the fake agent sent only ${batchesSent} batches`);
  // The page has taken in those frames (the status and `target` batches; the debug panel lists
  // the last 20), so "live" and "no error" below are about them.
  await browser.page.waitForFunction(
    ([u, n]) => [...document.querySelectorAll('[data-testid="debug-agent"]')]
      .find((s) => s.querySelector('h3')?.textContent === u)
      ?.querySelectorAll('[data-testid="debug-frame"]').length >= n,
    [url, Math.min(target + 1, 20)],
    { timeout: 5_000 },
  );
  assert.equal(await dash.state(url).textContent(), 'live');
  assert.equal(await card.getByTestId('frame-error').count(), 0, 'no protocol error on the card');
  assert.match(await browser.page.getByTestId('debug-panel').textContent(), /malformed frames: 0/);
  await screenshot(browser.page, 'original-contract-agent');
  await dash.assertNoPageErrors(browser.errors);
});
