// Adding an agent through the UI (as a bare host:port), seeing it live, the list surviving a
// reload, removing it, and the removal surviving a reload too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot } from './fixtures/browser.mjs';
import { browserSession } from './fixtures/session.mjs';
import { agentA, agentB, httpUrl, wsUrl } from './fixtures/agents.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

const browser = browserSession();

test('add a second agent, reload, remove it, reload', async () => {
  const [a, b] = [agentA(), agentB()];
  const dash = new DashboardPage(browser.page);
  await dash.open(httpUrl(a.port));
  await dash.waitForState(wsUrl(a.port), 'live');

  await dash.addAgent(`127.0.0.1:${b.port}`);
  await dash.waitForState(wsUrl(b.port), 'live');
  assert.deepEqual(await dash.cardUrls(), [wsUrl(a.port), wsUrl(b.port)]);
  assert.equal(await dash.addError().isVisible(), false);
  assert.equal(await browser.page.getByTestId('add-agent-input').inputValue(), '', 'input cleared');
  await dash.waitForAgentName(wsUrl(b.port), b.id);
  // The serving agent stayed live while the other was added.
  assert.equal(await dash.state(wsUrl(a.port)).textContent(), 'live');
  await screenshot(browser.page, 'add-second-agent');

  await browser.page.reload();
  await dash.waitForState(wsUrl(b.port), 'live');
  assert.deepEqual(await dash.cardUrls(), [wsUrl(a.port), wsUrl(b.port)], 'both persisted');

  await dash.removeAgent(wsUrl(b.port));
  assert.deepEqual(await dash.cardUrls(), [wsUrl(a.port)]);
  assert.deepEqual(await dash.savedUrls(), [wsUrl(a.port)]);

  await browser.page.reload();
  await dash.waitForState(wsUrl(a.port), 'live');
  assert.deepEqual(await dash.cardUrls(), [wsUrl(a.port)], 'removal persisted');
  await dash.assertNoPageErrors(browser.errors);
});
