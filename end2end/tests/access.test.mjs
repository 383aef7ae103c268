// An agent started with --token refuses the dashboard until the card carries the right token;
// the token is saved with the agent list, survives a reload, and never reaches the agent's log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ARTIFACTS, launch, screenshot } from './fixtures/browser.mjs';
import { agentA, freePort, httpUrl, runContainer, removeContainer, spawnAgent, wsUrl } from './fixtures/agents.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

const TOKEN = 'e2e-0f9a3c.token';
const ID = 'e2e-locked';
let browser;
let locked;
let port;
let container;

before(async () => {
  container = runContainer('locked-sleeper', { command: ['sleep', '100000'] });
  browser = await launch();
  port = await freePort();
  locked = await spawnAgent({ id: ID, port, extraArgs: ['--token', TOKEN] });
});

after(async () => {
  await browser?.close();
  await locked?.kill('SIGTERM');
  removeContainer(container);
});

test('token agent: refused without or with a wrong token, live with the right one, kept over reload', async () => {
  const a = agentA();
  const url = wsUrl(port);
  const dash = new DashboardPage(browser.page);
  await dash.open(httpUrl(a.port));
  await dash.waitForState(wsUrl(a.port), 'live');

  // No token: refused (HTTP 401), and the card says a token may be what is missing.
  await dash.addAgent(`127.0.0.1:${port}`);
  await dash.waitForState(url, 'error');
  const card = dash.card(url);
  await browser.page.waitForFunction(
    (u) => /requires a token/.test(document.querySelector(`[data-agent-url="${u}"] [data-testid="agent-state-detail"]`)?.textContent ?? ''),
    url,
  );
  assert.equal(await card.getByTestId('agent-token-state').textContent(), 'no token');

  // A token a subprotocol cannot carry is rejected inline; nothing changes.
  await card.getByTestId('edit-token').click();
  await card.getByTestId('token-input').fill('has space');
  await card.getByTestId('save-token').click();
  assert.match(await card.getByTestId('token-error').textContent(), /letters, digits/);
  assert.equal(await card.getByTestId('agent-token-state').textContent(), 'no token');

  // The wrong token: still refused, and the card now suspects the token.
  await card.getByTestId('token-input').fill('wrong-token');
  await card.getByTestId('save-token').click();
  assert.equal(await card.getByTestId('agent-token-state').textContent(), 'token set');
  await browser.page.waitForFunction(
    (u) => /token is wrong/.test(document.querySelector(`[data-agent-url="${u}"] [data-testid="agent-state-detail"]`)?.textContent ?? ''),
    url,
    { timeout: 15_000 },
  );
  assert.equal(await dash.state(url).textContent(), 'error');
  await screenshot(browser.page, 'access-wrong-token');

  // The right token: live at once (saving reconnects without waiting for the backoff), rows shown.
  await card.getByTestId('edit-token').click();
  await card.getByTestId('token-input').fill(TOKEN);
  const savedAt = Date.now();
  await card.getByTestId('save-token').click();
  await dash.waitForState(url, 'live', 10_000);
  console.log(`# live ${Date.now() - savedAt} ms after saving the right token`);
  await dash.waitForAgentName(url, ID);
  await dash.filter('ds-e2e-locked');
  await card.getByTestId('container-name').first().waitFor();
  assert.deepEqual(await dash.rowNames(url), [container]);
  await screenshot(browser.page, 'access-right-token');

  // Saved with the list (the UI says where), so a reload goes straight to live.
  const saved = JSON.parse(await dash.savedList());
  assert.deepEqual(saved.tokens, { [url]: TOKEN });
  await dash.open(httpUrl(a.port));
  await dash.waitForState(url, 'live', 10_000);

  // Removing the agent forgets its token too.
  await dash.removeAgent(url);
  assert.equal(JSON.parse(await dash.savedList()).tokens, undefined);

  // The agent logged the refusals without the token itself.
  const log = fs.readFileSync(path.join(ARTIFACTS, `agent-${ID}.log`), 'utf8');
  assert.match(log, /missing or wrong token/, 'refusals are logged');
  assert.ok(!log.includes(TOKEN) && !log.includes('wrong-token'), 'the log never contains a token');
  await dash.assertNoPageErrors(browser.errors);
});
