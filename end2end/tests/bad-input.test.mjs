// Bad input never breaks the page: a garbage address gives an inline error and changes
// nothing; a corrupt saved list gives a warning and an empty list, not a blank page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot } from './fixtures/browser.mjs';
import { browserSession } from './fixtures/session.mjs';
import { agentA, httpUrl, wsUrl } from './fixtures/agents.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

const browser = browserSession();

test('garbage URL in the add box: inline error, nothing changes', async () => {
  const a = agentA();
  const dash = new DashboardPage(browser.page);
  await dash.open(httpUrl(a.port));
  await dash.waitForState(wsUrl(a.port), 'live');
  const savedBefore = await dash.savedList();

  for (const garbage of ['not a url', 'ftp://example.com', 'ws://:8080', 'host:99999']) {
    await dash.addAgent(garbage);
    await dash.addError().waitFor({ state: 'visible' });
    const message = await dash.addError().textContent();
    assert.ok(message.includes(garbage.trim()), `error quotes the input: ${message}`);
    assert.deepEqual(await dash.cardUrls(), [wsUrl(a.port)], `nothing added for ${garbage}`);
    assert.equal(await dash.savedList(), savedBefore, 'saved list untouched');
    assert.equal(
      await browser.page.getByTestId('add-agent-input').getAttribute('aria-invalid'),
      'true',
    );
  }
  await screenshot(browser.page, 'garbage-url-inline-error');

  // Typing clears the error; a duplicate is refused too.
  await browser.page.getByTestId('add-agent-input').fill('x');
  assert.equal(await dash.addError().isVisible(), false);
  await dash.addAgent(`http://127.0.0.1:${a.port}`);
  await dash.addError().waitFor({ state: 'visible' });
  assert.match(await dash.addError().textContent(), /already/);
  assert.deepEqual(await dash.cardUrls(), [wsUrl(a.port)]);
  await dash.assertNoPageErrors(browser.errors);
});

test('corrupt localStorage: warning banner, empty list, working page', async () => {
  const a = agentA();
  const dash = new DashboardPage(browser.page);
  await dash.open(httpUrl(a.port));
  await dash.setSavedRaw('{"version":1,"agents":[oops');
  await browser.page.reload();
  await browser.page.locator('header.topbar').waitFor();

  await dash.storageWarning().waitFor({ state: 'visible' });
  assert.match(await dash.storageWarning().textContent(), /could not be read/);
  // Give the page the time it would need to add the serving agent: it must not.
  await browser.page.waitForTimeout(1_500);
  assert.equal(await dash.cards().count(), 0);
  assert.equal(await browser.page.getByTestId('no-agents').isVisible(), true);
  await screenshot(browser.page, 'corrupt-storage-warning');

  // The page still works: adding an agent replaces the corrupt copy and clears the warning.
  await dash.addAgent(`127.0.0.1:${a.port}`);
  await dash.waitForState(wsUrl(a.port), 'live');
  assert.deepEqual(await dash.savedUrls(), [wsUrl(a.port)]);
  assert.equal(await dash.storageWarning().count(), 0);
  await dash.assertNoPageErrors(browser.errors);
});
