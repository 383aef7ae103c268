// A `?token=` typed into an agent address moves into the token store and out of the address:
// the card, the saved list, the exported file and the page's own link never show it, and the
// agent (started with --token) accepts the connection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { launch } from './fixtures/browser.mjs';
import { agentA, freePort, httpUrl, spawnAgent, wsUrl } from './fixtures/agents.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

const TOKEN = `url-${process.pid}-${Date.now().toString(36)}`;
let browser;
let locked;
let port;
before(async () => {
  browser = await launch();
  port = await freePort();
  locked = await spawnAgent({ id: 'e2e-url-token', port, extraArgs: ['--token', TOKEN] });
});
after(async () => {
  await browser?.close();
  await locked?.kill('SIGTERM');
});

test('a token typed into the address goes to the token store, never into lists or links', async () => {
  const a = agentA();
  const page = browser.page;
  const dash = new DashboardPage(page);
  await dash.open(httpUrl(a.port));
  await dash.waitForState(wsUrl(a.port), 'live');

  await dash.addAgent(`ws://127.0.0.1:${port}/ws?token=${TOKEN}`);
  const url = wsUrl(port);
  await dash.waitForState(url, 'live');
  assert.equal(await dash.card(url).getByTestId('agent-url').textContent(), url);
  assert.equal(await dash.card(url).getByTestId('agent-token-state').textContent(), 'token set');

  const saved = JSON.parse(await dash.savedList());
  assert.deepEqual(saved.agents, [wsUrl(a.port), url]);
  assert.deepEqual(saved.tokens, { [url]: TOKEN });

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('export-agents').click(),
  ]);
  const exported = fs.readFileSync(await download.path(), 'utf8');
  assert.ok(!exported.includes(TOKEN), `export carries no token: ${exported}`);
  assert.deepEqual(JSON.parse(exported).agents, [wsUrl(a.port), url]);
  assert.ok(!(await page.content()).includes(TOKEN), 'the token is nowhere in the page');
  await dash.assertNoPageErrors(browser.errors);
});

test('a link whose address carries ?token= opens it with the token and drops it from the address bar', async () => {
  const a = agentA();
  const page = browser.page;
  const dash = new DashboardPage(page);
  const entry = encodeURIComponent(`ws://127.0.0.1:${port}/ws?token=${TOKEN}`);
  await dash.open(httpUrl(a.port, `?agents=${entry}&debug=false`));
  const url = wsUrl(port);
  await dash.waitForState(url, 'live');
  const address = page.url();
  assert.ok(!address.includes(TOKEN) && !decodeURIComponent(address).includes(TOKEN), address);
  assert.deepEqual(new URL(address).searchParams.get('agents'), url);
  assert.equal(new URL(address).searchParams.get('debug'), 'false');
  // "Keep these agents" saves the token in the store, not in the address.
  await page.getByTestId('keep-agents').click();
  const saved = JSON.parse(await dash.savedList());
  assert.ok(saved.agents.includes(url) && saved.agents.every((u) => !u.includes('token')));
  assert.equal(saved.tokens[url], TOKEN);
  await dash.assertNoPageErrors(browser.errors);
});
