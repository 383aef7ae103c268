// `?agents=` opens exactly the listed agents and leaves the saved list alone until "keep these
// agents"; `?debug=true` shows each connection and its raw frames.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot } from './fixtures/browser.mjs';
import { browserSession } from './fixtures/session.mjs';
import { agentA, agentB, httpUrl, wsUrl } from './fixtures/agents.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

const browser = browserSession();

test('?agents= opens exactly those agents without touching the saved list', async () => {
  const [a, b] = [agentA(), agentB()];
  const dash = new DashboardPage(browser.page);
  // A saved list holding only the serving agent.
  await dash.open(httpUrl(a.port));
  await dash.waitForState(wsUrl(a.port), 'live');
  const saved = await dash.savedList();
  assert.deepEqual(await dash.savedUrls(), [wsUrl(a.port)]);

  const link = `?agents=ws://127.0.0.1:${b.port},http://127.0.0.1:${a.port}&debug=true`;
  await dash.open(httpUrl(a.port, link));
  await dash.waitForState(wsUrl(b.port), 'live');
  await dash.waitForState(wsUrl(a.port), 'live');
  assert.deepEqual(await dash.cardUrls(), [wsUrl(b.port), wsUrl(a.port)], 'exactly the link, in its order');
  await browser.page.getByTestId('link-banner').waitFor();
  assert.equal(await dash.savedList(), saved, 'saved list unchanged');

  // Debug panel: one section per agent, its state, bounded raw frames.
  const panel = browser.page.getByTestId('debug-panel');
  await panel.waitFor();
  assert.equal(await panel.getByTestId('debug-agent').count(), 2);
  await browser.page.waitForFunction(() => document.querySelectorAll('[data-testid="debug-frame"]').length >= 2);
  assert.match(await panel.getByTestId('debug-state').first().textContent(), /live/);
  assert.match(await panel.getByTestId('debug-frame').first().textContent(), /"type":"/);
  await screenshot(browser.page, 'agents-link-debug');

  // Removing one in link mode does not touch the saved list either.
  await dash.removeAgent(wsUrl(b.port));
  assert.equal(await dash.savedList(), saved);

  // "Keep these agents" saves what is shown and drops ?agents= from the address.
  await browser.page.getByTestId('keep-agents').click();
  assert.deepEqual(await dash.savedUrls(), [wsUrl(a.port)]);
  assert.equal(new URL(browser.page.url()).searchParams.get('agents'), null);
  assert.equal(await browser.page.getByTestId('link-banner').count(), 0);
  await dash.assertNoPageErrors(browser.errors);
});

test('"keep these agents" replaces the saved list with the link', async () => {
  const [a, b] = [agentA(), agentB()];
  const dash = new DashboardPage(browser.page);
  await dash.open(httpUrl(a.port, `?agents=127.0.0.1:${a.port},127.0.0.1:${b.port}`));
  await dash.waitForState(wsUrl(b.port), 'live');
  await browser.page.getByTestId('keep-agents').click();
  assert.deepEqual(await dash.savedUrls(), [wsUrl(a.port), wsUrl(b.port)]);
  await dash.open(httpUrl(a.port));
  await dash.waitForState(wsUrl(b.port), 'live');
  assert.deepEqual(await dash.cardUrls(), [wsUrl(a.port), wsUrl(b.port)]);
});
