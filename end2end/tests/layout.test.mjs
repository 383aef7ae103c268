// Usable from 375 px wide (no sideways scrolling of the page), and the light theme persists.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot } from './fixtures/browser.mjs';
import { agentA, httpUrl, wsUrl, runContainer, removeContainer } from './fixtures/agents.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

let browser;
let container;
before(async () => {
  // A container with a long name, so the narrow table has something to squeeze.
  container = runContainer('layout-with-a-rather-long-container-name', { command: ['sleep', '100000'] });
  browser = await launch({ viewport: { width: 375, height: 812 } });
});
after(async () => {
  await browser?.close();
  removeContainer(container);
});

test('375 px: no horizontal page overflow; theme toggle persists', async () => {
  const a = agentA();
  const dash = new DashboardPage(browser.page);
  await dash.open(httpUrl(a.port));
  await dash.waitForState(wsUrl(a.port), 'live');
  await dash.card(wsUrl(a.port)).getByTestId('container-row').first().waitFor();

  const overflow = await browser.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page scrolls sideways by ${overflow} px at 375 px`);
  assert.equal(await browser.page.getByTestId('add-agent-input').isVisible(), true);
  assert.equal(await dash.card(wsUrl(a.port)).getByTestId('sort-cpu').isVisible(), true);
  await screenshot(browser.page, 'layout-375-dark');

  assert.equal(await browser.page.locator('html').getAttribute('data-theme'), 'dark');
  await browser.page.getByTestId('theme-toggle').click();
  assert.equal(await browser.page.locator('html').getAttribute('data-theme'), 'light');
  await browser.page.reload();
  await dash.waitForState(wsUrl(a.port), 'live');
  assert.equal(await browser.page.locator('html').getAttribute('data-theme'), 'light');
  assert.match(await browser.page.getByTestId('theme-toggle').textContent(), /light/);
  await screenshot(browser.page, 'layout-375-light');
  await dash.assertNoPageErrors(browser.errors);
});
