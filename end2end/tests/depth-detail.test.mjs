// Contract 5 beyond the table (issue 10): the detail panel of a selected container (CPU with
// its limit and throttling, the memory breakdown against the limit, network and block I/O,
// PIDs, health, the last exit, the I/O chart, the health log on request) and the host strip
// of an agent card, which is there exactly when the agent sends `host`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserSession } from './fixtures/session.mjs';
import { screenshot } from './fixtures/browser.mjs';
import { agentA, docker, freePort, httpUrl, removeContainer, spawnAgent, TEST_IMAGE, wsUrl } from './fixtures/agents.mjs';
import { startFakeAgent } from './fixtures/fake-agent.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

const session = browserSession({ viewport: { width: 1400, height: 2000 } });
let synthUrl;

/** The panel's figures by test id. */
const panel = (page) => page.evaluate(() => {
  const d = document.querySelector('[data-testid="detail-panel"]');
  if (!d) return null;
  const t = (id) => d.querySelector(`[data-testid="${id}"]`)?.textContent ?? null;
  return {
    title: t('detail-title'),
    cpu: t('detail-cpu'),
    throttling: t('detail-throttling'),
    memory: t('detail-memory'),
    pids: t('detail-pids'),
    net: t('detail-net'),
    block: t('detail-block'),
    health: t('detail-health'),
    exit: t('detail-exit'),
    parts: [...d.querySelectorAll('.mem-stack [data-part]')].map((p) => [p.dataset.part, Number.parseFloat(p.style.width)]),
    legend: [...d.querySelectorAll('.mem-legend li')].map((li) => li.textContent),
    ioCanvas: d.querySelector('[data-testid="detail-io-chart"] canvas') !== null,
    log: t('health-log-status'),
  };
});

async function waitForPanel(page, what, check, timeout = 8_000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await panel(page);
    if (last && check(last)) return last;
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(last, null, 1)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function select(dash, name, cardUrl = synthUrl) {
  await dash.filter(name);
  const row = dash.card(cardUrl).locator('[data-testid$="-row"]', { hasText: name }).first();
  await row.waitFor();
  await row.click();
}

test('setup: a synthetic agent on the page from agent A', async () => {
  const port = await freePort();
  const synth = await spawnAgent({ id: 'e2e-detail', port, extraArgs: ['--synthetic-containers', '41'] });
  session.cleanups.push(() => synth.kill('SIGTERM'));
  synthUrl = wsUrl(port);
  const dash = new DashboardPage(session.page);
  await dash.open(httpUrl(agentA().port, `?agents=127.0.0.1:${agentA().port},127.0.0.1:${port}`));
  await dash.waitForState(synthUrl, 'live');
});

test('the detail panel shows CPU against its limit, the memory breakdown, I/O, PIDs and health', async () => {
  const { page } = session;
  const dash = new DashboardPage(page);
  // synthetic-000: --cpus 0.5; PIDs 1 of at most 100 (i % 3 == 0).
  await select(dash, 'synthetic-000');
  await page.getByTestId('cpu-scale-limit').click();
  const d = await waitForPanel(page, 'panel of synthetic-000', (p) => /^[\d.]+ % \(limit\) — limit 0\.5 CPUs$/.test(p.cpu) && p.ioCanvas);
  assert.match(d.title, /synthetic-000/);
  assert.match(d.throttling, /^(not throttled|throttled \d+ ms\/s)/);
  assert.match(d.memory, /^[\d.]+ MiB of 512 MiB \(as docker stats\)$/);
  assert.equal(d.pids, '1 of at most 100');
  assert.match(d.net, /^↓ [\d.]+ (B|KiB|MiB)\/s, [\d.]+ (B|KiB|MiB|GiB) in all \(\d+ packets\/s\); ↑ /);
  assert.match(d.block, /^read [\d.]+ (B|KiB|MiB)\/s, [\d.]+ (B|KiB|MiB|GiB) in all; written [\d.]+ (B|KiB|MiB)\/s, /);
  assert.equal(d.health, 'no health check');
  assert.equal(d.exit, 'no exit since it started');
  // Anonymous 60 %, page cache 30 % (a sixth shared, half inactive), kernel 10 % of usage.
  assert.deepEqual(d.parts.map(([k]) => k), ['anon', 'cache', 'shmem', 'kernel', 'inactive']);
  const [anon, cache, shmem, kernel, inactive] = d.parts.map(([, w]) => w);
  assert.ok(Math.abs(anon / kernel - 6) < 0.2, `anon ${anon} is six times kernel ${kernel}`);
  assert.ok(Math.abs(inactive / shmem - 3) < 0.2, `inactive ${inactive} is three times shmem ${shmem}`);
  assert.ok(Math.abs(cache / shmem - 2) < 0.2, `cache ${cache} (less shmem and inactive) is twice shmem`);
  assert.ok(anon + cache + shmem + kernel + inactive <= 100);
  assert.match(d.legend[4], /^inactive file cache \(excluded by docker stats\) /);
  await screenshot(page, 'depth-detail');

  // An unhealthy container that restarted: synthetic-011 restarted twice, last exit 137.
  await select(dash, 'synthetic-011');
  await waitForPanel(page, 'synthetic-011 restarted twice, last exit 137', (p) => /synthetic-011/.test(p.title)
    && p.exit === 'last run exited with code 137, restarted 2 times');
  await select(dash, 'synthetic-007');
  await waitForPanel(page, 'synthetic-007 unhealthy', (p) => /synthetic-007/.test(p.title) && p.health === 'unhealthy');
  // A stopped container: its exit and the OOM killer.
  await select(dash, 'synthetic-exited-02');
  await waitForPanel(page, 'synthetic-exited-02 OOM killed', (p) => /synthetic-exited-02/.test(p.title)
    && p.exit === 'exited with code 137, OOM killed');
  await page.getByTestId('cpu-scale-core').click();
});

test('the health log is asked for on the agent socket and the agent\'s answer is shown', async () => {
  const { page, errors } = session;
  const dash = new DashboardPage(page);
  await select(dash, 'synthetic-007');
  await waitForPanel(page, 'synthetic-007', (p) => /synthetic-007/.test(p.title));
  await page.getByTestId('health-log-button').click();
  // The synthetic agent answers through the same handler as any of ours: it asks the engine,
  // which knows no synthetic container, and the panel shows the agent's words. (An agent of an
  // older contract does not answer; that wait is unit-tested in detail.rs.)
  const asked = await waitForPanel(page, 'health-log asked', (p) => p.log !== null, 2_000);
  assert.match(asked.log, /asking the agent|no container/);
  const told = await waitForPanel(page, 'the answer', (p) => /no container [0-9a-f]{64}/.test(p.log ?? ''), 9_000);
  assert.ok(told);
  assert.equal(await dash.state(synthUrl).textContent(), 'live');
  await page.getByTestId('close-detail').click();
  await dash.filter('');
  await dash.assertNoPageErrors(errors);
});

test('a real container\'s health log shows the probes docker inspect shows', async () => {
  const { page, errors } = session;
  const dash = new DashboardPage(page);
  const name = 'ds-e2e-probed';
  removeContainer(name);
  session.cleanups.push(() => removeContainer(name));
  // Each probe prints its own line, numbered by the seconds clock, so the answer is this run's.
  docker('run', '-d', '--name', name, '--label', 'dockscope-e2e=1',
    '--health-cmd', 'echo probe-says-hello-$(date +%s)', '--health-interval', '1s', '--health-retries', '1',
    TEST_IMAGE, 'sleep', '100000');
  const deadline = Date.now() + 20_000;
  while (docker('inspect', '-f', '{{.State.Health.Status}}', name) !== 'healthy') {
    assert.ok(Date.now() < deadline, `${name} not healthy within 20 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const realUrl = wsUrl(agentA().port);
  await select(dash, name, realUrl);
  await waitForPanel(page, `${name} healthy`, (p) => p.title?.includes(name) && p.health === 'healthy', 8_000);
  await page.getByTestId('health-log-button').click();
  const told = await waitForPanel(page, 'the probes', (p) => /healthy/.test(p.log ?? ''), 6_000);
  const shown = await page.getByTestId('health-log').locator('li').allTextContents();
  const theirs = JSON.parse(docker('inspect', '-f', '{{json .State.Health.Log}}', name))
    .map((probe) => probe.Output.trim());
  assert.ok(shown.length > 0, `no probe lines under "${told.log}"`);
  for (const line of shown) {
    assert.match(line, /probe-says-hello-\d+/, `a probe line: ${line}`);
  }
  // The newest line the page shows is one docker inspect knows (inspect keeps the last five;
  // it may have run a probe or two since the agent answered).
  assert.ok(shown.some((line) => theirs.some((t) => line.includes(t))),
    `page ${JSON.stringify(shown)} vs inspect ${JSON.stringify(theirs)}`);
  await page.getByTestId('close-detail').click();
  await dash.filter('');
  await dash.assertNoPageErrors(errors);
});

test('the host strip is there exactly when the agent sends host figures', async () => {
  const { page } = session;
  const dash = new DashboardPage(page);
  const a = agentA();
  // What the real agent sends now: read one batch from it in the page's own WebSocket.
  const sends = (url) => page.evaluate((url) => new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['dockscope']);
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === 'container_stats_batch') { ws.close(); resolve(m.host != null); }
    };
    ws.onerror = () => reject(new Error('no connection'));
  }), url);
  const sendsHost = await sends(wsUrl(a.port));
  const realStrip = dash.card(wsUrl(a.port)).getByTestId('host-strip');
  if (sendsHost) {
    await realStrip.waitFor();
    assert.match(await realStrip.getByTestId('host-load').textContent(), /\d+\.\d\d \/ \d+\.\d\d \/ \d+\.\d\d/);
  } else {
    assert.equal(await realStrip.count(), 0, 'no host figures, no strip');
  }
  // The synthetic agent reports the real host too: its strip is there exactly when it sends it.
  const synthStrip = dash.card(synthUrl).getByTestId('host-strip');
  if (await sends(synthUrl)) await synthStrip.waitFor();
  else assert.equal(await synthStrip.count(), 0, 'no host figures, no strip');

  // An agent sending contract 5's host figures (scripted to the documented fields).
  const port = await freePort();
  const host = {
    cores: 4, cpu_pct: 12.5, load_1: 0.5, load_5: 0.25, load_15: 1, mem_total_bytes: 8 * 2 ** 30,
    mem_used_bytes: 2 * 2 ** 30, swap_total_bytes: 2 ** 30, swap_used_bytes: 0, uptime_secs: 93_784,
    disk_path: '/var/lib/docker', disk_total_bytes: 100 * 2 ** 30, disk_used_bytes: 25 * 2 ** 30,
  };
  const fake = await startFakeAgent(port, (send, tick) => {
    if (tick === 0) {
      send(JSON.stringify({ type: 'agent_status', agent_id: 'host-figures', sent_at: new Date().toISOString(), uptime_secs: 5, version: 'v0.5.0', features: ['container_stats'] }));
    }
    send(JSON.stringify({
      type: 'container_stats_batch', agent_id: 'host-figures', sent_at: new Date().toISOString(), sequence: tick + 1,
      containers: [{ id: 'a'.repeat(64), name: 'web', cpu_pct: 200, mem_bytes: 1, mem_limit_bytes: 2, uptime_secs: 1 }],
      agent_metrics: { cpu_pct: 0.1, mem_bytes: 1 }, host,
    }));
  });
  session.cleanups.push(fake.close);
  await dash.addAgent(`127.0.0.1:${port}`);
  const url = wsUrl(port);
  await dash.waitForState(url, 'live');
  const strip = dash.card(url).getByTestId('host-strip');
  await strip.waitFor();
  const facts = await strip.evaluate((s) => [...s.querySelectorAll('[data-testid^="host-"]')].map((d) => [d.dataset.testid, d.textContent]));
  assert.deepEqual(facts, [
    ['host-cpu', 'Host CPU12.5 % of 4 cores'],
    ['host-load', 'Load 1/5/15 min0.50 / 0.25 / 1.00'],
    ['host-mem', 'Host memory2.00 GiB / 8.00 GiB, swap 0 B / 1.00 GiB'],
    ['host-disk', 'Disk /var/lib/docker25.0 GiB / 100 GiB'],
    ['host-uptime', 'Host uptime1d 2h'],
  ]);
  // Its cores make the host scale: 200 % of one core is 50 % of 4 cores.
  await page.getByTestId('cpu-scale-host').click();
  await page.waitForFunction((u) => document.querySelector(`[data-agent-url="${u}"] .body [data-metric="cpu"]`)?.textContent === '50.0 %', url);
  await page.getByTestId('cpu-scale-core').click();
  await screenshot(page, 'depth-host-strip');
  await dash.removeAgent(url);
});
