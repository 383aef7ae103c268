// Hostile agents cannot hurt the page: a 300,000-container frame (~67 MB) is refused unread and
// its connection closed and retried with backoff; markup in names and agent_id stays text;
// absurd figures and clocks display sanely; the real agent's rows keep updating meanwhile and
// no main-thread task takes over 200 ms. An agent whose every frame is malformed is never live.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot } from './fixtures/browser.mjs';
import { browserSession } from './fixtures/session.mjs';
import { agentA, docker, freePort, httpUrl, removeContainer, TEST_IMAGE, wsUrl } from './fixtures/agents.mjs';
import { bigBatch, prebuilt, startFakeAgent, U64_MAX } from './fixtures/fake-agent.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';
import { longTasksSince, pageNow, recordLongTasks } from './fixtures/longtasks.mjs';

const browser = browserSession({ viewport: { width: 1400, height: 1000 }, newestFirst: true });
const { cleanups } = browser;

// Markup that would run if it ever reached innerHTML; each sets a flag the test reads.
const IMG = '<img src=x onerror="window.__pwned=\'img\'">';
const SCRIPT = '<script>window.__pwned="script"</script>';
const AGENT_ID = `${IMG}${SCRIPT}host`;
const NAMES = [SCRIPT, IMG, `<b onmouseover="window.__pwned='b'">bold</b>${'x'.repeat(500)}`];

/** A status and batches with markup in every string and figures no host can have. */
function markupAgent(send, tick) {
  // Years 1 and 9999, alternating: the clock is flagged and no time goes negative.
  const sentAt = tick % 2 === 0 ? '0001-01-01T00:00:00Z' : '9999-12-31T23:59:59Z';
  if (tick === 0) {
    send(`{"type":"agent_status","agent_id":${JSON.stringify(AGENT_ID)},"sent_at":"${sentAt}",`
      + `"uptime_secs":${U64_MAX},"version":${JSON.stringify(SCRIPT)},"features":["container_stats"],`
      + `"engine_reachable":false,"engine_error":${JSON.stringify(IMG.repeat(100))}}`);
  }
  const containers = [
    `{"id":"a","name":${JSON.stringify(NAMES[0])},"cpu_pct":1e308,"mem_bytes":${U64_MAX},"mem_limit_bytes":${U64_MAX},"uptime_secs":${U64_MAX},"image":${JSON.stringify(IMG)}}`,
    `{"id":"b","name":${JSON.stringify(NAMES[1])},"cpu_pct":-5,"mem_bytes":${U64_MAX},"mem_limit_bytes":0,"uptime_secs":0}`,
    `{"id":"c","name":${JSON.stringify(NAMES[2])},"cpu_pct":1e308,"mem_bytes":0,"mem_limit_bytes":1,"uptime_secs":${U64_MAX}}`,
  ];
  send(`{"type":"container_stats_batch","agent_id":${JSON.stringify(AGENT_ID)},"sent_at":"${sentAt}",`
    + `"sequence":${tick + 1},"containers":[${containers.join(',')}],`
    + `"agent_metrics":{"cpu_pct":-5,"mem_bytes":${U64_MAX}}}`);
}

test('a real agent stays live and smooth next to a 300,000-container agent and a markup agent', async () => {
  const a = agentA();
  // A container of our own on the real engine (no network: nothing to set up on a busy host).
  const probe = 'ds-e2e-hostile-probe';
  removeContainer(probe);
  docker('run', '-d', '--name', probe, '--label', 'dockscope-e2e=1', '--network', 'none', TEST_IMAGE, 'sleep', '100000');
  cleanups.push(() => removeContainer(probe));

  const huge = prebuilt(bigBatch('huge-host', 300_000));
  const [hugePort, markupPort] = [await freePort(), await freePort()];
  const hugeAgent = await startFakeAgent(hugePort, (send) => send(huge));
  cleanups.push(hugeAgent.close);
  const markup = await startFakeAgent(markupPort, markupAgent);
  cleanups.push(markup.close);

  const page = browser.page;
  await recordLongTasks(page);
  const dash = new DashboardPage(page);
  const [real, big, evil] = [wsUrl(a.port), wsUrl(hugePort), wsUrl(markupPort)];
  await dash.open(httpUrl(a.port, `?agents=127.0.0.1:${a.port},127.0.0.1:${hugePort},127.0.0.1:${markupPort}`));
  await dash.waitForState(real, 'live');
  await dash.waitForState(evil, 'live');
  await dash.waitForState(big, 'protocol error', 30_000);

  // The huge agent's card says why, and the frame was refused unread: nothing of it is shown.
  const bigCard = dash.card(big);
  assert.match(await bigCard.getByTestId('agent-state-detail').textContent(),
    /refused a frame of 6\d\.\d MiB \(this dashboard reads frames up to 32\.0 MiB\)/);
  assert.equal(await bigCard.getByTestId('container-row').count(), 0);

  // Markup is shown as text: no element it describes exists, no handler ran.
  const evilCard = dash.card(evil);
  await page.waitForFunction((url) => document.querySelectorAll(
    `[data-agent-url="${url}"] [data-testid="container-row"]`).length === 3, evil);
  await dash.waitForAgentName(evil, `${AGENT_ID.slice(0, 59)}…`);
  assert.equal(await page.evaluate(() => document.querySelectorAll('main img, main script, main b').length), 0);
  const names = await dash.rowNames(evil);
  assert.ok(names.includes(SCRIPT) && names.includes(IMG), `names shown as text: ${names}`);
  const long = names.find((n) => n.startsWith('<b '));
  assert.equal([...long].length, 60, 'a long name is cut to 60 characters');
  assert.ok(long.endsWith('…'));
  const tooltip = await evilCard.locator('[data-testid="container-name"]', { hasText: '<b ' }).getAttribute('title');
  assert.ok(tooltip.startsWith(NAMES[2].slice(0, 200)), 'the whole name is on hover');

  // Absurd figures display as bounds or unknowns, never NaN, Infinity or negative.
  const cpus = await dash.rowCpus(evil);
  assert.deepEqual([...cpus].sort(), ['> 100000 %', '> 100000 %', '–']);
  assert.deepEqual(await dash.column(evil, 'container-uptime'), ['> 100 years', '> 100 years', '0s']);
  assert.ok((await dash.column(evil, 'container-mem')).every((m) => /^(16\.0 EiB|0 B)/.test(m)));
  assert.equal(await evilCard.getByTestId('agent-uptime').textContent(), '> 100 years');
  assert.match(await evilCard.getByTestId('clock-note').textContent(), /more than a day (ahead of|behind) this browser's/);
  assert.match(await evilCard.getByTestId('last-update').textContent(), /^(just now|\d+ s ago)$/);
  const cardText = await evilCard.innerText();
  assert.doesNotMatch(cardText, /NaN|Infinity|undefined|-\d/);
  await screenshot(page, 'hostile-agents');

  // The real agent's rows keep updating while the huge agent is refused again and again
  // (connection closed, backoff, reconnect).
  await dash.filter('ds-e2e-hostile-probe');
  // Long tasks are counted from here (taking the screenshot above is one of its own).
  const since = await pageNow(page);
  const hugeConnections = hugeAgent.connections();
  const uptimeOfProbe = () => page.evaluate((url) => document.querySelector(
    `[data-agent-url="${url}"] [data-testid="container-row"] [data-testid="container-uptime"]`)?.textContent ?? null, real);
  await page.waitForFunction((url) => document.querySelector(
    `[data-agent-url="${url}"] [data-testid="container-row"]`) !== null, real, { timeout: 10_000 });
  let last = await uptimeOfProbe();
  let changes = 0;
  const deadline = Date.now() + 60_000;
  while ((changes < 3 || hugeAgent.connections() < hugeConnections + 2) && Date.now() < deadline) {
    await page.waitForFunction(([url, old]) => document.querySelector(
      `[data-agent-url="${url}"] [data-testid="container-row"] [data-testid="container-uptime"]`)?.textContent !== old,
    [real, last], { timeout: 5_000 });
    last = await uptimeOfProbe();
    changes += 1;
  }
  assert.ok(hugeAgent.connections() >= hugeConnections + 2,
    `the huge agent was retried (${hugeAgent.connections()} connections)`);
  assert.equal(await dash.state(real).textContent(), 'live');
  assert.equal(await dash.state(big).textContent(), 'protocol error');

  const tasks = await longTasksSince(page, since);
  assert.ok(!tasks.length || tasks[0].duration <= 200,
    `no main-thread task over 200 ms, got ${tasks.map((t) => `${t.duration.toFixed(0)} ms at +${(t.start - since).toFixed(0)}`).join(', ')}`);
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no injected script ran');
  await dash.assertNoPageErrors(browser.errors);
});

test('an agent whose every frame is malformed is never live: "protocol error" and why', async () => {
  const a = agentA();
  const port = await freePort();
  const fake = await startFakeAgent(port, (send, tick) => {
    // Almost a batch: the field the original contract requires is missing.
    send(`{"type":"container_stats_batch","agent_id":"broken","sent_at":"2025-10-15T10:00:00Z","sequence":${tick}}`);
  });
  cleanups.push(fake.close);
  const page = browser.page;
  const dash = new DashboardPage(page);
  const url = wsUrl(port);
  await dash.open(httpUrl(a.port, `?agents=127.0.0.1:${port}`));
  await page.evaluate((u) => {
    window.__states = [];
    const card = document.querySelector(`[data-agent-url="${u}"]`);
    new MutationObserver(() => window.__states.push(card.dataset.state))
      .observe(card, { attributes: true, attributeFilter: ['data-state'] });
  }, url);
  await dash.waitForState(url, 'protocol error');
  assert.match(await dash.card(url).getByTestId('agent-state-detail').textContent(),
    /^malformed agent message: missing field `containers`/);
  // Five seconds without a usable frame close the connection; it is retried with backoff and
  // stays a protocol error.
  const deadline = Date.now() + 20_000;
  while (fake.connections() < 2 && Date.now() < deadline) await page.waitForTimeout(200);
  assert.ok(fake.connections() >= 2, 'reconnected after no usable frame for 5 s');
  await dash.waitForState(url, 'protocol error');
  const states = await page.evaluate(() => window.__states);
  assert.ok(!states.includes('live'), `never live: ${states.join(' → ')}`);
  assert.equal(await dash.card(url).getByTestId('container-row').count(), 0);
  await dash.assertNoPageErrors(browser.errors);
});

test('names in any script arrive as the agent sent them (frames reach the page as UTF-8 bytes)', async () => {
  const a = agentA();
  const port = await freePort();
  // Two-, three- and four-byte UTF-8, a combining accent and a character outside the BMP.
  const agentId = 'hôte-東京-🐳';
  const names = ['café-données', '数据库-主', 'whale-🐳🐋', 'e\u0301-combining', 'Ωmega·∑'];
  const fake = await startFakeAgent(port, (send, tick) => {
    // The card's name comes from the status.
    if (tick === 0) {
      send(`{"type":"agent_status","agent_id":${JSON.stringify(agentId)},"sent_at":"${new Date().toISOString()}",`
        + '"uptime_secs":60,"version":"v9.9.9","features":["container_stats"]}');
    }
    const containers = names.map((name, i) => `{"id":"u${i}","name":${JSON.stringify(name)},"cpu_pct":${i + 1},`
      + '"mem_bytes":1048576,"mem_limit_bytes":0,"uptime_secs":60}');
    send(`{"type":"container_stats_batch","agent_id":${JSON.stringify(agentId)},"sent_at":"${new Date().toISOString()}",`
      + `"sequence":${tick + 1},"containers":[${containers.join(',')}]}`);
  });
  cleanups.push(fake.close);
  const dash = new DashboardPage(browser.page);
  const url = wsUrl(port);
  await dash.open(httpUrl(a.port, `?agents=127.0.0.1:${port}`));
  await dash.waitForState(url, 'live');
  await dash.waitForAgentName(url, agentId);
  await browser.page.waitForFunction((u) => document.querySelectorAll(
    `[data-agent-url="${u}"] [data-testid="container-row"]`).length === 5, url);
  assert.deepEqual([...(await dash.rowNames(url))].sort(), [...names].sort());
  await dash.assertNoPageErrors(browser.errors);
});

test('one link opens at most 20 agents and says how many it left out', async () => {
  const a = agentA();
  const page = browser.page;
  const dash = new DashboardPage(page);
  // 27 distinct addresses (nothing listens on them) and a few that are not addresses at all.
  const listed = Array.from({ length: 27 }, (_, i) => `127.0.0.1:${1 + i}`);
  const garbage = Array.from({ length: 8 }, (_, i) => `bad%20host${i}`);
  await dash.open(httpUrl(a.port, `?agents=${[...listed, ...garbage].join(',')}`));
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="agent-card"]').length === 20);
  assert.deepEqual(await dash.cardUrls(), listed.slice(0, 20).map((h) => `ws://${h}/ws`));
  const banner = await page.getByTestId('link-rejected').textContent();
  assert.match(banner, /7 more agent\(s\): a link opens at most 20/);
  assert.match(banner, /3 more entries that are not addresses/);
  assert.equal((banner.match(/has no valid host name|contains spaces/g) ?? []).length, 5, banner);
  await dash.assertNoPageErrors(browser.errors);
});
