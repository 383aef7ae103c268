// Contract 5 in the table (issue 10): the network, block and restart columns with real figures,
// state badges and stopped containers, the column chooser and the CPU scale saved with the
// agent list across a reload, and rows grouped by compose project. Against real agents: a
// synthetic one (every contract 5 figure, generated) and agent B on the real engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserSession } from './fixtures/session.mjs';
import { screenshot } from './fixtures/browser.mjs';
import {
  agentA, agentB, docker, freePort, httpUrl, removeContainer, runContainer, spawnAgent, wsUrl,
} from './fixtures/agents.mjs';
import { DashboardPage, percent, readDrawn } from './fixtures/dashboard.mjs';

// Tall enough that a grouped table (every container listed) is rendered whole.
const session = browserSession({ viewport: { width: 1400, height: 3000 } });
// 41 synthetic containers: three stopped ones (exit codes 0, 1 and 137 with OOM).
const COUNT = 41;
let synthUrl;

const rowSel = (url, testid = 'container-row') => `[data-agent-url="${url}"] [data-testid="${testid}"]`;

/** Every rendered row of a card (running, stopped or group header), in displayed order. */
async function rows(page, url) {
  return readDrawn(page, url, (u) => [...document.querySelectorAll(`[data-agent-url="${u}"] .body [role="row"]`)]
    .map((r) => {
      const cell = (key) => r.querySelector(`[data-metric="${key}"]`);
      // A group header's name cell: "▾ " or "▸ ", the project, and its count.
      const count = r.querySelector('[data-testid="group-count"]')?.textContent ?? '';
      const text = cell('name').textContent;
      return {
        at: Number(r.getAttribute('aria-rowindex')),
        kind: r.dataset.testid,
        expanded: r.getAttribute('aria-expanded'),
        name: text.slice(0, text.length - count.length).replace(/^[▾▸] /, '').trim(),
        count,
        arrow: /^[▾▸]/.exec(text)?.[0] ?? '',
        badges: [...r.querySelectorAll('[data-testid="state-badge"]')].map((b) => `${b.dataset.badge}:${b.dataset.label}`),
        cpu: cell('cpu').textContent.trim(),
        cpuTip: cell('cpu').getAttribute('title') ?? '',
        netRx: cell('net_rx').textContent.trim(),
        netRxTip: cell('net_rx').getAttribute('title') ?? '',
        netTx: cell('net_tx').textContent.trim(),
        pids: cell('pids').textContent.trim().split(' / ')[0],
        restarts: cell('restarts').textContent.trim(),
      };
    })
    .sort((a, b) => a.at - b.at));
}

/** Polls `rows` until `check` accepts them (figures move every second); fails with the last. */
async function waitForRows(page, url, what, check, timeout = 8_000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await rows(page, url);
    if (check(last)) return last;
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(last, null, 1).slice(0, 3000)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

const visible = (page, url, key) => page.evaluate(([u, k]) => {
  const head = document.querySelector(`[data-agent-url="${u}"] .head [data-metric="${k}"]`);
  return head !== null && getComputedStyle(head).display !== 'none';
}, [url, key]);

const RATE = /^[\d.]+ (B|KiB|MiB|GiB)\/s$/;

test('setup: the page from agent A, a synthetic agent added and saved', async () => {
  const { page } = session;
  const port = await freePort();
  const synth = await spawnAgent({ id: 'e2e-depth', port, extraArgs: ['--synthetic-containers', String(COUNT)] });
  session.cleanups.push(() => synth.kill('SIGTERM'));
  synthUrl = wsUrl(port);
  const dash = new DashboardPage(page);
  await dash.open(httpUrl(agentA().port));
  await dash.waitForState(wsUrl(agentA().port), 'live');
  await dash.addAgent(`127.0.0.1:${port}`);
  await dash.waitForState(synthUrl, 'live');
  assert.deepEqual(await dash.savedUrls(), [wsUrl(agentA().port), synthUrl]);
});

test('network, restarts and PIDs show generated figures; badges and stopped containers', async () => {
  const { page } = session;
  const dash = new DashboardPage(page);
  await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 25, rowSel(synthUrl));
  // Rates with their cumulative counter on hover, once two readings exist.
  const all = await waitForRows(page, synthUrl, 'network rates', (rs) => rs
    .filter((r) => r.kind === 'container-row' && !/-(012|025|038)$/.test(r.name))
    .every((r) => RATE.test(r.netRx) && RATE.test(r.netTx)));
  assert.ok(all.some((r) => Number.parseFloat(r.netRx) > 0), 'some container receives');
  // Tooltips are written while the pointer is over a row: the cumulative counter behind a rate.
  await dash.filter('synthetic-001');
  await waitForRows(page, synthUrl, 'synthetic-001', (rs) => rs.length === 1 && rs[0].name === 'synthetic-001');
  await dash.card(synthUrl).getByTestId('container-row').hover();
  await waitForRows(page, synthUrl, 'received in all', (rs) => /^received [\d.]+ (B|KiB|MiB|GiB) in all$/.test(rs[0].netRxTip));
  await page.mouse.move(0, 0);
  await waitForRows(page, synthUrl, 'no tooltip away from the row', (rs) => rs[0].netRxTip === '');

  // One container at a time, through the filter: its badges, restarts and PIDs are the
  // generator's (container i: PIDs 1 + i % 20; i % 9 == 2 restarted i / 9 + 1 times).
  const cases = [
    ['synthetic-004', ['paused:paused'], '0', '5'],
    ['synthetic-007', ['unhealthy:unhealthy'], '0', '8'],
    ['synthetic-009', ['restarting:restarting'], '0', '10'],
    ['synthetic-011', [], '2', '12'],
    ['synthetic-012', ['starting:starting'], '0', '13'],
    ['synthetic-002', [], '1', '3'],
    ['synthetic-003', [], '0', '4'],
  ];
  for (const [name, badges, restarts, pids] of cases) {
    await dash.filter(name);
    const [row] = await waitForRows(page, synthUrl, name, (rs) => rs.length === 1 && rs[0].name === name);
    assert.deepEqual([row.badges, row.restarts, row.pids], [badges, restarts, pids], name);
  }
  // A container in the host's network namespace has no figures of its own.
  await dash.filter('synthetic-025');
  const [hostNet] = await waitForRows(page, synthUrl, 'host network', (rs) => rs.length === 1 && rs[0].name === 'synthetic-025');
  assert.deepEqual([hostNet.netRx, hostNet.netRxTip], ['–', '']);

  // Stopped containers come after the running ones, greyed, with their exit and OOM.
  await dash.filter('');
  const listed = await waitForRows(page, synthUrl, 'stopped rows', (rs) => rs.filter((r) => r.kind === 'stopped-row').length === 3);
  const kinds = listed.map((r) => r.kind);
  assert.equal(kinds.indexOf('stopped-row'), 25, `stopped rows follow the 25 running ones: ${kinds}`);
  assert.deepEqual(listed.slice(25).map((r) => [r.name, r.badges]), [
    ['synthetic-exited-00', ['exited:exited (0)']],
    ['synthetic-exited-01', ['exited:exited (1)']],
    ['synthetic-exited-02', ['exited:exited (137)', 'oom:OOM killed']],
  ]);
  const grey = await page.evaluate((sel) => getComputedStyle(document.querySelector(sel)).opacity, rowSel(synthUrl, 'stopped-row'));
  assert.ok(Number(grey) < 1, `stopped rows are greyed (opacity ${grey})`);
  await screenshot(page, 'depth-columns');
});

test('PIDs and restarts of a real container match docker', async () => {
  const { page } = session;
  const b = agentB();
  const name = runContainer('depth-pids', { command: ['sh', '-c', 'sleep 100000 & sleep 100000 & wait'] });
  session.cleanups.push(() => removeContainer(name));
  const dash = new DashboardPage(page);
  await dash.addAgent(`127.0.0.1:${b.port}`);
  await dash.waitForState(wsUrl(b.port), 'live');
  await dash.filter(name);
  const [row] = await waitForRows(page, wsUrl(b.port), 'the real container', (rs) => rs.length === 1 && rs[0].pids !== '–');
  const cli = docker('stats', '--no-stream', '--format', '{{.PIDs}}', name);
  assert.equal(row.pids, cli, 'PIDs as docker stats');
  const restarts = docker('inspect', '--format', '{{.RestartCount}}', name);
  // An agent that does not report restarts yet shows none; one that does shows docker's.
  assert.ok(row.restarts === '–' || row.restarts === restarts, `restarts ${row.restarts} vs ${restarts}`);
  await dash.filter('');
  await dash.removeAgent(wsUrl(b.port));
});

test('the column choice and the CPU scale are saved with the agent list and survive a reload', async () => {
  const { page, errors } = session;
  const dash = new DashboardPage(page);
  assert.equal(await visible(page, synthUrl, 'net_tx'), true);
  assert.equal(await visible(page, synthUrl, 'block_read'), false, 'block I/O is hidden by default');
  await page.getByTestId('column-chooser').click();
  await page.getByTestId('column-net_tx').uncheck();
  await page.getByTestId('column-block_read').check();
  await page.getByTestId('cpu-scale-limit').click();
  assert.equal(await visible(page, synthUrl, 'net_tx'), false);
  assert.equal(await visible(page, synthUrl, 'block_read'), true);
  const cell = await page.evaluate((u) => {
    const c = document.querySelector(`[data-agent-url="${u}"] .body [data-metric="net_tx"]`);
    return getComputedStyle(c).display;
  }, synthUrl);
  assert.equal(cell, 'none', 'hidden cells too');
  const saved = JSON.parse(await dash.savedList());
  assert.equal(saved.view.cpu_scale, 'limit');
  assert.ok(saved.view.columns.includes('block_read') && !saved.view.columns.includes('net_tx'), JSON.stringify(saved.view));

  await page.reload();
  await dash.waitForState(synthUrl, 'live');
  assert.deepEqual(await dash.cardUrls(), [wsUrl(agentA().port), synthUrl]);
  assert.equal(await visible(page, synthUrl, 'net_tx'), false);
  assert.equal(await visible(page, synthUrl, 'block_read'), true);
  assert.match(await dash.card(synthUrl).getByTestId('sort-cpu').textContent(), /^CPU \(limit\)/);
  assert.equal(await page.getByTestId('cpu-scale-limit').getAttribute('aria-pressed'), 'true');

  // Corrupt or old view settings load as the default, and the agents still load.
  const stored = JSON.parse(await dash.savedList());
  for (const view of ['"garbage"', '{"columns":"cpu","cpu_scale":42}', 'null']) {
    await dash.setSavedRaw(JSON.stringify({ ...stored, view: JSON.parse(view) }));
    await page.reload();
    await dash.waitForState(synthUrl, 'live');
    assert.deepEqual(await dash.cardUrls(), [wsUrl(agentA().port), synthUrl], view);
    assert.equal(await visible(page, synthUrl, 'net_tx'), true, view);
    assert.equal(await visible(page, synthUrl, 'block_read'), false, view);
    assert.match(await dash.card(synthUrl).getByTestId('sort-cpu').textContent(), /^CPU \(core\)/, view);
    assert.equal(await dash.storageWarning().count(), 0, view);
  }
  await dash.assertNoPageErrors(errors);
});

test('the CPU scale relabels and rescales every figure', async () => {
  const { page } = session;
  const dash = new DashboardPage(page);
  const card = dash.card(synthUrl);
  // synthetic-000 has --cpus 0.5; synthetic-002 has no limit.
  for (const [scale, header] of [['core', 'CPU (core)'], ['host', 'CPU (host)'], ['limit', 'CPU (limit)']]) {
    await page.getByTestId(`cpu-scale-${scale}`).click();
    assert.match(await card.getByTestId('sort-cpu').textContent(), new RegExp(`^${header.replace(/[()]/g, '\\$&')}`));
    const spark = await card.locator('.head .spark').first().textContent();
    assert.equal(spark, `CPU 60 s (${scale})`);
  }
  await dash.filter('synthetic-000');
  await waitForRows(page, synthUrl, 'synthetic-000', (rs) => rs.length === 1 && rs[0].name === 'synthetic-000');
  await card.getByTestId('container-row').hover();
  const [limited] = await waitForRows(page, synthUrl, 'limited container', (rs) => rs.length === 1 && /of one core/.test(rs[0].cpuTip));
  // The tooltip holds both figures of the same instant: limit % = core % / 0.5.
  const core = percent(/([\d.]+) % of one core/.exec(limited.cpuTip)[1]);
  assert.match(limited.cpuTip, /^% of the container's CPU limit: /);
  assert.match(limited.cpuTip, /limit 0\.5 CPUs/);
  assert.ok(Math.abs(percent(limited.cpu) - core / 0.5) <= 0.2, `${limited.cpu} vs ${core} / 0.5`);

  await dash.filter('synthetic-002');
  await waitForRows(page, synthUrl, 'synthetic-002', (rs) => rs.length === 1 && rs[0].name === 'synthetic-002');
  await page.mouse.move(0, 0);
  await card.getByTestId('container-row').hover();
  const [free] = await waitForRows(page, synthUrl, 'unlimited container', (rs) => rs.length === 1 && /no limit/.test(rs[0].cpuTip));
  const cores = /host's (\d+) cores/.exec(free.cpuTip);
  if (cores) {
    // An agent reporting its host's cores: the host's share.
    const one = percent(/([\d.]+) % of one core/.exec(free.cpuTip)[1]);
    assert.ok(Math.abs(percent(free.cpu) - one / Number(cores[1])) <= 0.2, free.cpuTip);
  } else {
    // Without host figures there is no share of the host to show, and the tooltip says why.
    assert.equal(free.cpu, '–');
    assert.match(free.cpuTip, /does not report its host's cores/);
  }
  await page.getByTestId('cpu-scale-core').click();
  await card.getByTestId('container-row').hover();
  await waitForRows(page, synthUrl, 'core scale', (rs) => rs.length === 1 && rs[0].cpu !== '–' && /^% of one core: /.test(rs[0].cpuTip));
  await dash.filter('');
});

test('rows group by compose project, sorted within groups, and groups fold', async () => {
  const { page } = session;
  const dash = new DashboardPage(page);
  const card = dash.card(synthUrl);
  await card.getByTestId('sort-name').click();
  await page.getByTestId('group-toggle').click();
  assert.equal(await page.getByTestId('group-toggle').getAttribute('aria-pressed'), 'true');
  const grouped = await waitForRows(page, synthUrl, 'groups', (rs) => rs.filter((r) => r.kind === 'group-row').length === 5);
  const heads = grouped.filter((r) => r.kind === 'group-row');
  // Projects by name (stack-k: three in four of containers 12k … 12k + 11), the containers of
  // no project last.
  assert.deepEqual(heads.map((h) => [h.arrow, h.name, h.count]), [
    ['▾', 'stack-0', '9 containers'],
    ['▾', 'stack-1', '9 containers'],
    ['▾', 'stack-2', '9 containers'],
    ['▾', 'stack-3', '4 containers'],
    ['▾', 'ungrouped', '10 containers'],
  ]);
  // Every container under its group's header, by name within it (the sort applies within).
  let group;
  const members = {};
  for (const r of grouped) {
    if (r.kind === 'group-row') group = r.name;
    else if (r.kind === 'container-row') (members[group] ??= []).push(r.name);
  }
  for (const [g, names] of Object.entries(members)) {
    assert.deepEqual(names, [...names].sort(), `${g} sorted by name`);
    for (const n of names) {
      const i = Number(n.slice('synthetic-'.length));
      const want = i % 4 === 3 ? 'ungrouped' : `stack-${Math.floor(i / 12)}`;
      assert.equal(g, want, n);
    }
  }
  assert.equal(Object.values(members).flat().length, COUNT, 'grouped, every container is listed');

  await card.locator('[data-testid="group-row"]', { hasText: 'stack-1' }).click();
  const folded = await waitForRows(page, synthUrl, 'folded', (rs) => rs.some((r) => r.kind === 'group-row' && r.expanded === 'false'));
  assert.equal(folded.filter((r) => r.kind === 'container-row').length, COUNT - 9);
  const fold = folded.find((r) => r.expanded === 'false');
  assert.deepEqual([fold.arrow, fold.name], ['▸', 'stack-1']);
  await screenshot(page, 'depth-groups');

  await page.reload();
  await dash.waitForState(synthUrl, 'live');
  assert.equal(await page.getByTestId('group-toggle').getAttribute('aria-pressed'), 'true', 'grouping is saved');
  await waitForRows(page, synthUrl, 'groups after reload', (rs) => rs.filter((r) => r.kind === 'group-row').length === 5);
  await page.getByTestId('group-toggle').click();
  await waitForRows(page, synthUrl, 'flat again', (rs) => rs.every((r) => r.kind !== 'group-row') && rs.length === 25 + 3);
});
