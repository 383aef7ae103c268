// A waiting reconnect is cut short by the window `online` event and by "Retry now": with the
// next automatic attempt still seconds away, either brings a restarted agent back at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserSession } from './fixtures/session.mjs';
import { agentA, freePort, httpUrl, spawnAgent, wsUrl } from './fixtures/agents.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

const browser = browserSession();
const owned = [];
browser.cleanups.push(async () => {
  for (const agent of owned) await agent.kill('SIGKILL');
});

/** Waits until the card says the next attempt is at least `seconds` away. */
async function waitForLongBackoff(dash, url, seconds) {
  await browser.page.waitForFunction(
    ([u, s]) => {
      const text = document.querySelector(`[data-agent-url="${u}"] [data-testid="agent-state-detail"]`)?.textContent ?? '';
      const m = text.match(/retrying in (?:(\d+)m )?(\d+)s/);
      return m !== null && Number(m[1] ?? 0) * 60 + Number(m[2]) >= s;
    },
    [url, seconds],
    { timeout: 40_000, polling: 100 },
  );
}

for (const trigger of ['online event', 'retry now']) {
  test(`${trigger} skips the backoff wait`, async () => {
    const a = agentA();
    const port = await freePort();
    let c = await spawnAgent({ id: 'e2e-wake', port });
    owned.push(c);
    const dash = new DashboardPage(browser.page);
    await dash.open(httpUrl(a.port, `?agents=127.0.0.1:${port}`));
    await dash.waitForState(wsUrl(port), 'live');
    await c.kill('SIGTERM');
    await dash.waitForState(wsUrl(port), 'disconnected', 10_000);

    // Let the backoff grow until the next attempt is ≥ 6 s away, then bring the agent back.
    await waitForLongBackoff(dash, wsUrl(port), 6);
    c = await spawnAgent({ id: 'e2e-wake', port });
    owned.push(c);
    const started = Date.now();
    if (trigger === 'online event') {
      await browser.context.setOffline(true);
      await browser.context.setOffline(false);
    } else {
      await dash.card(wsUrl(port)).getByTestId('retry-now').click();
    }
    await dash.waitForState(wsUrl(port), 'live', 4_000);
    assert.ok(Date.now() - started < 4_000);
    await dash.assertNoPageErrors(browser.errors);
    await c.kill('SIGTERM');
  });
}
