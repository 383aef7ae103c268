// An agent started with --token refuses the dashboard until the card carries the right token;
// the token is saved with the agent list, survives a reload, and never reaches the agent's log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ARTIFACTS, launch, screenshot } from './fixtures/browser.mjs';
import { agentA, freePort, httpUrl, runContainer, removeContainer, spawnAgent, wsUrl } from './fixtures/agents.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

// Fresh per run, so the log check below cannot be satisfied (or failed) by an earlier run.
const TOKEN = `e2e-${process.pid}-${Date.now().toString(36)}.token`;
const WRONG = `wrong-${process.pid}`;
const ID = 'e2e-locked';
const LOG = path.join(ARTIFACTS, `agent-${ID}.log`);
let browser;
let locked;
let port;
let container;
/** Where this run's part of the agent's log (appended to by every run) starts. */
let logFrom = 0;

before(async () => {
  container = runContainer('locked-sleeper', { command: ['sleep', '100000'] });
  browser = await launch();
  port = await freePort();
  logFrom = fs.existsSync(LOG) ? fs.statSync(LOG).size : 0;
  locked = await spawnAgent({ id: ID, port, extraArgs: ['--token', TOKEN] });
});

/** Every WebSocket the page opens to `url` (with any `?since=`): when it was created and
 * when it closed. */
function recordSockets(page, url) {
  const sockets = [];
  page.on('websocket', (ws) => {
    if (ws.url().split('?')[0] !== url) return;
    const entry = { createdAt: Date.now(), closedAt: null };
    sockets.push(entry);
    ws.on('close', () => { entry.closedAt ??= Date.now(); });
    ws.on('socketerror', () => { entry.closedAt ??= Date.now(); });
  });
  return sockets;
}

/** The dashboard's shortest wait before retry `attempt` (0-based): half of 1 s × 2^attempt. */
const minBackoffMs = (attempt) => Math.min(1_000 * 2 ** attempt, 60_000) / 2;

after(async () => {
  await browser?.close();
  await locked?.kill('SIGTERM');
  removeContainer(container);
});

test('token agent: refused without or with a wrong token, live with the right one, kept over reload', async () => {
  const a = agentA();
  const url = wsUrl(port);
  const sockets = recordSockets(browser.page, url);
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
  await card.getByTestId('token-input').fill(WRONG);
  const wrongAt = Date.now();
  await card.getByTestId('save-token').click();
  assert.equal(await card.getByTestId('agent-token-state').textContent(), 'token set');
  await browser.page.waitForFunction(
    (u) => /token is wrong/.test(document.querySelector(`[data-agent-url="${u}"] [data-testid="agent-state-detail"]`)?.textContent ?? ''),
    url,
    { timeout: 15_000 },
  );
  assert.equal(await dash.state(url).textContent(), 'error');
  await screenshot(browser.page, 'access-wrong-token');
  // The right token: live at once. Saving reconnects without waiting for the backoff: the
  // connection that goes live opens before the earliest moment the backoff would retry. The
  // token is typed first, then saved right after a refusal (the third or later), when the
  // backoff's next retry is at least 2 s away.
  await card.getByTestId('edit-token').click();
  await card.getByTestId('token-input').fill(TOKEN);
  const refused = () => sockets.filter((s) => s.createdAt >= wrongAt && s.closedAt !== null);
  const seen = refused().length;
  for (const deadline = Date.now() + 20_000; refused().length < Math.max(3, seen + 1);) {
    assert.ok(Date.now() < deadline, `only ${refused().length} refused attempts with the wrong token`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const savedAt = Date.now();
  const failed = refused();
  const lastFailure = Math.max(...failed.map((s) => s.closedAt));
  const earliestRetry = lastFailure + minBackoffMs(failed.length - 1);
  await card.getByTestId('save-token').click();
  await dash.waitForState(url, 'live', 10_000);
  const liveAt = Date.now();
  const opened = sockets.filter((s) => s.createdAt >= savedAt);
  console.log(`# live ${liveAt - savedAt} ms after saving the right token; the backoff would have retried ${earliestRetry - savedAt} ms after saving at the earliest`);
  assert.equal(opened.length, 1, `one connection from saving to live, not ${opened.length}`);
  assert.ok(opened[0].closedAt === null, 'the connection opened on saving is the live one');
  assert.ok(
    opened[0].createdAt < earliestRetry,
    `the live connection opened ${opened[0].createdAt - savedAt} ms after saving, not before the backoff's retry (${earliestRetry - savedAt} ms)`,
  );
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

  // The agent logged this run's refusals (its part of the log only) without the token itself.
  const log = fs.readFileSync(LOG).subarray(logFrom).toString('utf8');
  const refusals = log.match(/missing or wrong token/g) ?? [];
  assert.ok(refusals.length >= 3, `refusals are logged: ${refusals.length} in\n${log}`);
  assert.ok(!log.includes(TOKEN) && !log.includes(WRONG), 'the log never contains a token');
  await dash.assertNoPageErrors(browser.errors);
});
