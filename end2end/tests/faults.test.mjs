// Malformed and unknown frames are shown and skipped while the connection carries on; a
// synthetic agent's card says SYNTHETIC DATA.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot } from './fixtures/browser.mjs';
import { browserSession } from './fixtures/session.mjs';
import { agentA, freePort, httpUrl, spawnAgent, wsUrl } from './fixtures/agents.mjs';
import { startFakeAgent, batch } from './fixtures/fake-agent.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

const browser = browserSession();
const { cleanups } = browser;

test('malformed frame: shown on the card and in the debug panel, connection stays live', async () => {
  const a = agentA();
  const port = await freePort();
  let sequence = 0;
  const fake = await startFakeAgent(port, (send, tick) => {
    if (tick === 2) send('{"type":"container_stats_batch", this is not json');
    if (tick === 3) send('{"type":"from_a_newer_agent","sequence":99}');
    send(batch('fake-agent', ++sequence));
  });
  cleanups.push(fake.close);

  const dash = new DashboardPage(browser.page);
  await dash.open(httpUrl(a.port, `?agents=127.0.0.1:${port}&debug=true`));
  await dash.waitForState(wsUrl(port), 'live');
  const card = dash.card(wsUrl(port));
  await card.getByTestId('frame-error').waitFor({ timeout: 10_000 });
  assert.match(await card.getByTestId('frame-error').textContent(), /malformed agent message/);

  // Later batches still arrive: the row's uptime keeps moving and the card stays live.
  const uptime = async () => card.getByTestId('container-uptime').first().textContent();
  const before = await uptime();
  await browser.page.waitForFunction(
    ([url, old]) => document.querySelector(`[data-agent-url="${url}"] [data-testid="container-uptime"]`)?.textContent !== old,
    [wsUrl(port), before],
    { timeout: 5_000 },
  );
  assert.equal(await dash.state(wsUrl(port)).textContent(), 'live');
  assert.match(await browser.page.getByTestId('debug-panel').textContent(), /malformed frames: 1/);
  await screenshot(browser.page, 'faults-malformed-frame');
  await dash.assertNoPageErrors(browser.errors);
});

test('synthetic agent is labelled SYNTHETIC DATA', async () => {
  const a = agentA();
  const port = await freePort();
  const synth = await spawnAgent({ id: 'e2e-synth', port, extraArgs: ['--synthetic-containers', '5'] });
  cleanups.push(() => synth.kill('SIGTERM'));
  const dash = new DashboardPage(browser.page);
  await dash.open(httpUrl(a.port, `?agents=127.0.0.1:${a.port},127.0.0.1:${port}`));
  await dash.waitForState(wsUrl(port), 'live');
  const badge = dash.card(wsUrl(port)).getByTestId('synthetic-badge');
  await badge.waitFor();
  assert.equal(await badge.textContent(), 'SYNTHETIC DATA');
  assert.equal(await dash.card(wsUrl(a.port)).getByTestId('synthetic-badge').count(), 0);
  await browser.page.waitForFunction(
    (url) => document.querySelectorAll(`[data-agent-url="${url}"] [data-testid="container-row"]`).length === 5,
    wsUrl(port),
  );
  await dash.assertNoPageErrors(browser.errors);
});
