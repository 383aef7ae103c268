// Issue 12, attention in the browser, on real agents and real containers of the real engine:
// - each default rule fires on a container that breaks it and clears when the condition ends:
//   memory above 90 % of its limit (tmpfs filled, then emptied), OOM-killed (killed by its
//   limit, then started again without the hog), unhealthy (its check's file removed, then
//   back), restart loop (restarting every second; the rule edited in the page to a 1-minute
//   window, the loop stopped, the minute waited out). Each shows as a line of the attention
//   list (container, agent, cause, since), a red row with the cause on hover, a red card, and
//   the count in the page title. Removing an agent takes its alerts away.
// - the rules editor: the six defaults on a first run, an invalid number refused with the rules
//   crate's reason and not saved; the rules survive a reload and round-trip through
//   export/import; an old export keeps the page's rules; corrupt stored rules load as the
//   defaults, with a warning, and the agent list still loads.
// - notifications: granted, exactly one per firing and none on clearing, and the title back to
//   "Dockscope" when all is clear; denied, "notifications blocked" and none shown.
//
// Other specs and test runs share the engine, and their containers may break the default rules
// too: every check here is about this spec's containers (ds-e2e-att-*), except where the page's
// rules are narrowed to them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { browserSession } from './fixtures/session.mjs';
import { launch, screenshot } from './fixtures/browser.mjs';
import { agentA, agentB, docker, httpUrl, removeContainer, TEST_IMAGE, wsUrl } from './fixtures/agents.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';
import { AttentionPanel } from './fixtures/attention.mjs';

const session = browserSession({ viewport: { width: 1400, height: 1400 }, newestFirst: true });

const PREFIX = 'ds-e2e-att-';
const MEMORY = `${PREFIX}memory`;
const OOM = `${PREFIX}oom`;
const SICK = `${PREFIX}sick`;
const LOOP = `${PREFIX}loop`;
const NOTE = `${PREFIX}note`;
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'dockscope-attention-'));
session.cleanups.push(() => fs.rmSync(TMP, { recursive: true, force: true }));

/** What the list says of each default rule's breach. */
const CAUSE = {
  memory: /^memory (9[1-9]|100) % of its limit \(\d+ of 64 MiB\)$/,
  oom: /^OOM killed$/,
  unhealthy: /^health check failing$/,
  loop5: /^restarted \d+ times in 5 min$/,
  loop1: /^restarted \d+ times in 1 min$/,
};
const SINCE = /^since \d\d:\d\d:\d\d \((just now|\d+ s ago|\d+ min ago)\)$/;
const DEFAULT_RULES = [
  { kind: 'memory_above', enabled: true, percent: '90', containers: '*', agent: '' },
  { kind: 'oom_killed', enabled: true, containers: '*', agent: '' },
  { kind: 'unhealthy', enabled: true, containers: '*', agent: '' },
  { kind: 'restart_loop', enabled: true, restarts: '3', within_minutes: '5', containers: '*', agent: '' },
  { kind: 'exited_non_zero', enabled: false, containers: '*', agent: '' },
  { kind: 'cpu_above', enabled: false, percent: '90', for_secs: '60', containers: '*', agent: '' },
];

function run(name, args, command) {
  removeContainer(name);
  session.cleanups.push(() => removeContainer(name));
  docker('run', '-d', '--name', name, '--label', 'dockscope-e2e=1', ...args, TEST_IMAGE, ...command);
  return name;
}

/** A container whose health check passes while /tmp/healthy exists. */
const runChecked = (name) => run(name,
  ['--health-cmd', 'test -e /tmp/healthy', '--health-interval', '1s', '--health-retries', '1'],
  ['sh', '-c', 'mkdir -p /tmp && touch /tmp/healthy && exec sleep 3600']);

const mine = (name, agent = 'e2e-a') => (l) => l.container === name && l.agent === agent;

/** Waits until docker reports `name`'s health as `want`. */
async function waitForHealth(name, want, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const health = docker('inspect', '--format', '{{.State.Health.Status}}', name);
    if (health === want) return;
    if (Date.now() > deadline) assert.fail(`${name} is ${health}, not ${want}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The title agrees with the panel's count: "(N) ⚠ Dockscope", or "Dockscope" when all clear. */
function assertTitle({ title, count, lines }) {
  const n = /^(\d+) alerts?$/.exec(count)?.[1];
  if (n === undefined) {
    assert.equal(count, 'all clear: no rule holds');
    assert.equal(title, 'Dockscope');
    assert.equal(lines, 0);
  } else {
    assert.equal(title, `(${n}) ⚠ Dockscope`);
    assert.ok(Number(n) >= lines, `${n} alerts, ${lines} lines`);
  }
}

test('each default rule fires on a real container and clears when its condition ends', async () => {
  const { page } = session;
  const a = agentA();
  const url = wsUrl(a.port);
  const dash = new DashboardPage(page);
  const attention = new AttentionPanel(page);
  // A first run: the page adds the agent that served it, with the default rules.
  await dash.open(httpUrl(a.port));
  await dash.waitForState(url, 'live');
  assert.deepEqual(await attention.rules(), DEFAULT_RULES);
  assert.equal(await page.getByTestId('rules-defaults-note').textContent(),
    'No rules were saved: these are the default rules.');
  // Nobody was asked about notifications: the page offers the button, and asks nothing itself.
  assert.equal(await page.getByTestId('notify-button').textContent(), 'Notify me');
  // Only this spec's containers in the tables (stopped ones too).
  await dash.filter(PREFIX);

  // Memory: 60 MiB in /dev/shm (a tmpfs, which counts against the limit) of a 64 MiB limit.
  run(MEMORY, ['--memory', '64m', '--memory-swap', '64m'],
    ['sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=60 && exec sleep 3600']);
  // OOM: tail grows until the limit's OOM killer ends it; started again with /ok it sleeps.
  run(OOM, ['--memory', '16m', '--memory-swap', '16m'],
    ['sh', '-c', 'test -e /ok || exec tail /dev/zero; exec sleep 3600']);
  runChecked(SICK);
  // Restart loop: exits after a second, and the engine starts it again (ever more slowly).
  run(LOOP, ['--restart', 'always'], ['sh', '-c', 'sleep 1; exit 3']);

  const memory = await attention.waitForLine('memory above 90 %', mine(MEMORY));
  assert.match(memory.cause, CAUSE.memory);
  assert.equal(memory.rule, 'memory above 90 % of its limit');
  assert.match(memory.since, SINCE);
  const oom = await attention.waitForLine('OOM-killed', mine(OOM));
  assert.match(oom.cause, CAUSE.oom);
  assert.equal(oom.rule, 'OOM-killed');
  await waitForHealth(SICK, 'healthy');
  assert.ok(!(await attention.lines()).some(mine(SICK)), 'a healthy container needs no attention');
  docker('exec', SICK, 'rm', '/tmp/healthy');
  const sick = await attention.waitForLine('unhealthy', mine(SICK));
  assert.match(sick.cause, CAUSE.unhealthy);
  assert.equal(sick.rule, 'unhealthy');
  const loop = await attention.waitForLine('restart loop', mine(LOOP), 60_000);
  assert.match(loop.cause, CAUSE.loop5);
  assert.equal(loop.rule, 'restarted more than 3 times in 5 min');

  // Newest first, and the title counts them.
  const lines = await attention.lines();
  const times = lines.map((l) => l.t);
  assert.deepEqual(times, [...times].sort((x, y) => y - x), JSON.stringify(lines));
  const state = await attention.titleAndCount();
  assertTitle(state);
  assert.ok(Number(/^\d+/.exec(state.count)) >= 4, state.count);

  // Each breached row is red, with its cause on hover (the mark and the name); so is the card.
  for (const [name, cause, kind] of [
    [MEMORY, CAUSE.memory, 'container-row'],
    [SICK, CAUSE.unhealthy, 'container-row'],
    [OOM, CAUSE.oom, 'stopped-row'],
  ]) {
    const row = await attention.waitForRow(url, name, 'marked', (r) => r.marked && r.mark !== null);
    assert.equal(row.kind, kind, name);
    assert.match(row.mark, cause, name);
    assert.match(row.nameTip.split('\n').pop(), new RegExp(`^⚠ ${cause.source.slice(1, -1)}$`), name);
    assert.equal(row.red, 'rgb(248, 81, 73)', `${name}'s name is drawn red`);
  }
  await attention.waitForRow(url, LOOP, 'loop marked', (r) => r.marked && CAUSE.loop5.test(r.mark));
  const card = await attention.card(url);
  assert.ok(card.marked, 'the card is red');
  assert.match(card.badge, /^⚠ \d+ containers? needs? attention$/);
  for (const name of [MEMORY, OOM, SICK, LOOP]) assert.ok(card.tip.includes(`\n${name}: `), card.tip);
  await screenshot(page, 'attention-fired');

  // The restart loop's window, edited in the page: an invalid number is refused with the rules'
  // own reason and nothing is saved; 1 minute is saved, and the loop counts under it at once.
  const storedBefore = await attention.storedRules();
  await attention.openRules();
  const loopRule = attention.rule('restart_loop');
  for (const [typed, error] of [
    ['0', 'Not saved: rule 4 (restarted more than 3 times in 0 min): within_minutes is 1 to 60'],
    ['soon', 'Not saved: rule 4 (Restart loop): within_minutes: “soon” is not a whole number'],
  ]) {
    await loopRule.getByTestId('rule-within_minutes').fill(typed);
    assert.equal(await page.getByTestId('rules-dirty').isVisible(), true);
    assert.equal(await attention.save(), error);
    assert.deepEqual(await attention.storedRules(), storedBefore, 'nothing saved');
  }
  await loopRule.getByTestId('rule-within_minutes').fill('1');
  assert.equal(await attention.save(), null);
  assert.equal(await page.getByTestId('rules-dirty').isVisible(), false);
  assert.deepEqual((await attention.storedRules())[3],
    { enabled: true, containers: '*', kind: 'restart_loop', restarts: 3, within_minutes: 1 });
  const loop1 = await attention.waitForLine('restart loop in 1 min', (l) => mine(LOOP)(l) && CAUSE.loop1.test(l.cause));
  assert.equal(loop1.rule, 'restarted more than 3 times in 1 min');
  // The loop stops; it clears once fewer than four restarts fall in the last minute.
  docker('update', '--restart', 'no', LOOP);
  const loopStopped = Date.now();

  // A second agent on the same engine raises the same alerts under its own name; removed, its
  // alerts go with it and agent A's stay.
  const b = agentB();
  await dash.addAgent(`127.0.0.1:${b.port}`);
  await dash.waitForState(wsUrl(b.port), 'live');
  await attention.waitForLine('agent B sees it too', mine(SICK, 'e2e-b'));
  await dash.removeAgent(wsUrl(b.port));
  await attention.waitForNoLine('agent B removed', (l) => l.agent === 'e2e-b', 5_000);
  assert.ok((await attention.lines()).some(mine(SICK)), 'agent A still has its own');

  // The conditions end.
  docker('exec', MEMORY, 'rm', '/dev/shm/fill');
  await attention.waitForNoLine('memory freed', mine(MEMORY));
  await attention.waitForRow(url, MEMORY, 'memory row back to plain', (r) => !r.marked && r.mark === null);
  docker('exec', SICK, 'touch', '/tmp/healthy');
  await attention.waitForNoLine('healthy again', mine(SICK));
  await attention.waitForRow(url, SICK, 'healthy row back to plain', (r) => !r.marked);
  // The OOM-killed container runs again, without the hog this time.
  const ok = path.join(TMP, 'ok');
  fs.writeFileSync(ok, 'ok\n');
  docker('cp', ok, `${OOM}:/ok`);
  docker('start', OOM);
  await attention.waitForNoLine('OOM container running again', mine(OOM));
  await attention.waitForRow(url, OOM, 'running again, plain', (r) => r.kind === 'container-row' && !r.marked);
  await attention.waitForNoLine('restart loop over for a minute', mine(LOOP), 120_000);
  console.log(`restart loop cleared ${Math.round((Date.now() - loopStopped) / 1000)} s after the loop was stopped`);
  await attention.waitForRow(url, LOOP, 'loop row back to plain', (r) => !r.marked);
  const after = await attention.card(url);
  assert.ok(!after.tip?.includes(PREFIX), `no container of this spec on the card's mark: ${after.tip}`);
  assertTitle(await attention.titleAndCount());
  await screenshot(page, 'attention-cleared');
  await dash.assertNoPageErrors(session.errors);
});

test('rules survive a reload and round-trip through export and import; corrupt rules load as the defaults', async () => {
  const { page } = session;
  const a = agentA();
  const url = wsUrl(a.port);
  const dash = new DashboardPage(page);
  const attention = new AttentionPanel(page);
  const edited = DEFAULT_RULES.map((r) => (r.kind === 'restart_loop' ? { ...r, within_minutes: '1' } : r));

  await page.reload();
  await dash.waitForState(url, 'live');
  assert.deepEqual(await attention.rules(), edited, 'the edit survived the reload');
  assert.equal(await page.getByTestId('rules-defaults-note').count(), 0);

  // Export: the agents and the rules, in the rules crate's format (an agent's --alert-rules
  // reads the same file).
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-agents').click()]);
  assert.equal(download.suggestedFilename(), 'dockscope-agents.json');
  const exportFile = path.join(TMP, 'export.json');
  fs.copyFileSync(await download.path(), exportFile);
  const exported = JSON.parse(fs.readFileSync(exportFile, 'utf8'));
  assert.deepEqual(exported.agents, [url]);
  assert.equal(exported.version, 1);
  assert.equal(exported.rules.length, 6);
  assert.deepEqual(exported.rules[3], { enabled: true, containers: '*', kind: 'restart_loop', restarts: 3, within_minutes: 1 });

  // Back to the defaults, saved; then the export brings the edited rules back.
  await attention.openRules();
  await page.getByTestId('default-rules').click();
  assert.equal(await attention.save(), null);
  assert.equal((await attention.storedRules())[3].within_minutes, 5);
  await page.getByTestId('import-agents').setInputFiles(exportFile);
  assert.equal(await page.getByTestId('import-result').textContent(),
    'Imported 0 agent(s); 1 already shown. Alert rules replaced by the file\'s 6.');
  assert.deepEqual(await attention.rules(), edited, 'the editor shows the imported rules');
  assert.equal((await attention.storedRules())[3].within_minutes, 1, 'and they are saved');

  // An export of an older dashboard (no rules) keeps the page's rules; a file whose rules are
  // refused changes nothing.
  const old = path.join(TMP, 'old.json');
  fs.writeFileSync(old, JSON.stringify({ version: 1, agents: [url] }));
  await page.getByTestId('import-agents').setInputFiles(old);
  // (The file is read asynchronously: wait for the banner to say this import's result.)
  await page.waitForFunction(() => document.querySelector('[data-testid="import-result"]')?.textContent
    === 'Imported 0 agent(s); 1 already shown.', null, { timeout: 5_000 });
  assert.deepEqual(await attention.rules(), edited);
  const bad = path.join(TMP, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify({ version: 1, agents: [`127.0.0.1:${agentB().port}`], rules: [{ kind: 'memory_above', percent: 150 }] }));
  await page.getByTestId('import-agents').setInputFiles(bad);
  assert.match(await page.getByTestId('import-error').textContent(),
    /^Import failed, nothing changed: rule 1 \(memory above 150 % of its limit\): percent must be above 0 and at most 100, not 150$/);
  assert.deepEqual(await dash.cardUrls(), [url], 'no agent added');
  assert.deepEqual(await attention.rules(), edited);

  // Corrupt stored rules: the defaults, a warning that says so, and the agent list intact.
  const stored = JSON.parse(await dash.savedList());
  await dash.setSavedRaw(JSON.stringify({ ...stored, rules: [{ kind: 'restart_loop', restarts: 3, within_minutes: 0 }] }));
  await page.reload();
  await dash.waitForState(url, 'live');
  assert.deepEqual(await dash.cardUrls(), [url]);
  assert.match(await page.getByTestId('rules-warning').textContent(),
    /^The saved alert rules could not be read \(rule 1 \(restarted more than 3 times in 0 min\): within_minutes is 1 to 60\)\. The default rules are in use/);
  assert.deepEqual(await attention.rules(), DEFAULT_RULES);
  await dash.setSavedRaw(JSON.stringify({ ...stored, rules: 'all of them' }));
  await page.reload();
  await dash.waitForState(url, 'live');
  assert.match(await page.getByTestId('rules-warning').textContent(), /^The saved alert rules could not be read \(not a rules file: /);
  // Saving rules replaces the unreadable copy, and the warning goes.
  await attention.openRules();
  assert.equal(await attention.save(), null);
  assert.equal(await page.getByTestId('rules-warning').count(), 0);
  assert.equal((await attention.storedRules()).length, 6);
  assert.deepEqual(JSON.parse(await dash.savedList()).agents, [url]);
  await dash.assertNoPageErrors(session.errors);
});

/** Counts every notification the page creates (the real constructor still runs). */
function countNotifications() {
  window.__notifications = [];
  const Real = window.Notification;
  if (!Real) return;
  window.Notification = class extends Real {
    constructor(title, options) {
      window.__notifications.push({ title, body: options?.body, tag: options?.tag, at: Date.now() });
      super(title, options);
    }
  };
}

test('notifications granted: one per firing, none on clearing; the title counts and goes back', async () => {
  const { context } = session;
  const a = agentA();
  const url = wsUrl(a.port);
  await context.grantPermissions(['notifications'], { origin: httpUrl(a.port).replace(/\/$/, '') });
  const page = await context.newPage();
  session.cleanups.push(() => page.close().catch(() => {}));
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.addInitScript(countNotifications);
  const dash = new DashboardPage(page);
  const attention = new AttentionPanel(page);
  await dash.open(httpUrl(a.port));
  await dash.waitForState(url, 'live');
  assert.equal(await page.getByTestId('notify-state').textContent(), 'notifications on');
  assert.equal(await page.getByTestId('notify-button').count(), 0);

  // One rule, narrowed to this spec's containers, so the page's count is ours alone: the
  // default "unhealthy" with a name pattern; every other rule removed.
  await attention.openRules();
  for (const kind of ['memory_above', 'oom_killed', 'restart_loop', 'exited_non_zero', 'cpu_above']) {
    await attention.rule(kind).getByTestId('remove-rule').click();
  }
  await attention.rule('unhealthy').getByTestId('rule-containers').fill(`${PREFIX}*`);
  assert.equal(await attention.save(), null);
  assert.deepEqual(await attention.rules(),
    [{ kind: 'unhealthy', enabled: true, containers: `${PREFIX}*`, agent: '' }]);
  await attention.waitForNoLine('only this spec\'s containers', (l) => !l.container.startsWith(PREFIX), 10_000);
  const clear = await attention.titleAndCount();
  assert.deepEqual(clear, { title: 'Dockscope', count: 'all clear: no rule holds', lines: 0 });

  runChecked(NOTE);
  await waitForHealth(NOTE, 'healthy');
  const before = await page.evaluate(() => window.__notifications.length);
  docker('exec', NOTE, 'rm', '/tmp/healthy');
  await attention.waitForLine('unhealthy', mine(NOTE));
  assert.deepEqual(await attention.titleAndCount(), { title: '(1) ⚠ Dockscope', count: '1 alert', lines: 1 });
  await page.waitForFunction((n) => window.__notifications.length > n, before, { timeout: 5_000 });
  // Still unhealthy a few seconds on, and healthy again: no second notification either way.
  await new Promise((r) => setTimeout(r, 4_000));
  docker('exec', NOTE, 'touch', '/tmp/healthy');
  await attention.waitForNoLine('healthy again', mine(NOTE));
  assert.deepEqual(await attention.titleAndCount(), { title: 'Dockscope', count: 'all clear: no rule holds', lines: 0 });
  await new Promise((r) => setTimeout(r, 2_000));
  const shown = (await page.evaluate(() => window.__notifications)).slice(before);
  assert.deepEqual(shown.map(({ title, body }) => ({ title, body })), [
    { title: `⚠ ${NOTE} on e2e-a`, body: `health check failing (rule: unhealthy (${PREFIX}*))` },
  ]);
  // It breaks again: a new firing, a new notification.
  docker('exec', NOTE, 'rm', '/tmp/healthy');
  await page.waitForFunction((n) => window.__notifications.length === n + 2, before, { timeout: 15_000 });
  assert.deepEqual(errors, []);
});

test('notifications denied: the page says they are blocked and shows none', async () => {
  const a = agentA();
  const url = wsUrl(a.port);
  // A browser of its own, whose profile has never allowed notifications.
  const own = await launch({ viewport: { width: 1400, height: 1000 } });
  session.cleanups.push(() => own.close());
  const { page } = own;
  await page.addInitScript(countNotifications);
  const dash = new DashboardPage(page);
  const attention = new AttentionPanel(page);
  await dash.open(httpUrl(a.port));
  await dash.waitForState(url, 'live');
  await page.getByTestId('notify-button').click();
  const state = page.getByTestId('notify-state');
  await state.waitFor({ timeout: 5_000 });
  assert.equal(await state.textContent(), 'notifications blocked');
  assert.equal(await state.getAttribute('data-permission'), 'denied');
  assert.equal(await page.getByTestId('notify-button').count(), 0, 'and it does not ask again');

  // NOTE is unhealthy again (the previous test left it so, or it turns so now).
  docker('exec', NOTE, 'rm', '-f', '/tmp/healthy');
  await attention.waitForLine('unhealthy', mine(NOTE));
  await new Promise((r) => setTimeout(r, 2_000));
  assert.deepEqual(await page.evaluate(() => window.__notifications), []);
  // A reload remembers the answer: still blocked, still no button.
  await page.reload();
  await dash.waitForState(url, 'live');
  assert.equal(await page.getByTestId('notify-state').textContent(), 'notifications blocked');
  assert.deepEqual(own.errors, []);
});
