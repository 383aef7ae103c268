// Small things noticed by using the page (issue 10), on a real agent and real containers:
// equal-CPU rows in natural name order, "no limit" for a container without --memory and the
// real limit for --memory 64m, the add box suggesting the agent's port 8080, a sparkline that
// spans its width within the first seconds, and time-axis labels that do not overlap at 375 px.
// The containers are fix-* (idle busybox), labelled like every e2e container, removed afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot } from './fixtures/browser.mjs';
import { agentA, httpUrl, wsUrl, docker, removeContainer, TEST_IMAGE } from './fixtures/agents.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

const FLEET = Array.from({ length: 12 }, (_, i) => `fix-fleet-${i + 1}`);
const FREE = 'fix-mem-free';
const CAPPED = 'fix-mem-64m';
const ALL = [...FLEET, FREE, CAPPED];

/** Width of a sparkline's viewBox (`sparkline::WIDTH`). */
const SPARK_WIDTH = 1200;

function run(name, extra = []) {
  removeContainer(name);
  docker('run', '-d', '--name', name, '--label', 'dockscope-e2e=1', ...extra, TEST_IMAGE, 'sleep', '100000');
}

let browser;
before(() => {
  for (const name of FLEET) run(name);
  run(FREE);
  run(CAPPED, ['--memory', '64m']);
});
after(async () => {
  await browser?.close();
  for (const name of ALL) removeContainer(name);
});

/** The rendered rows of a card as `{ name, cpu, mem }`, in displayed order. */
async function rows(dash, url) {
  const [names, cpus, mems] = await Promise.all(['name', 'cpu', 'mem'].map((k) => dash.cells(url, k)));
  return names.map((name, i) => ({ name, cpu: cpus[i], mem: mems[i] }));
}

async function waitFor(what, read, check, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The time-axis labels ECharts drew on the canvas of the chart in `[data-testid=testid]`,
 * read from its scene graph (zrender's display list, each text's box in chart pixels):
 * only the shown ones (`hideOverlap` and the like set `ignore`/`invisible`), only time texts.
 */
async function timeLabels(page, selector) {
  return page.evaluate((sel) => {
    const element = document.querySelector(sel);
    const chart = element && window.echarts?.getInstanceByDom(element);
    if (!chart) return null;
    const texts = chart.getZr().storage.getDisplayList(true)
      .filter((e) => (e.type === 'text' || e.type === 'tspan') && !e.ignore && !e.invisible && e.style && e.style.text != null);
    const labels = texts.map((e) => {
      const rect = e.getBoundingRect().clone();
      const m = e.getComputedTransform();
      if (m) rect.applyTransform(m);
      // Rich text (the bold minute label) is written "{style|text}".
      const text = String(e.style.text).replace(/\{\w+\|([^}]*)\}/g, '$1');
      return { text, x: rect.x, y: rect.y, w: rect.width, h: rect.height };
    }).filter((l) => /^\d{1,2}:\d{2}(:\d{2})?$/.test(l.text));
    return { width: chart.getWidth(), labels: labels.sort((a, b) => a.x - b.x) };
  }, selector);
}

function assertNoOverlap(what, drawn) {
  assert.ok(drawn, `${what}: no ECharts instance`);
  const { width, labels } = drawn;
  // Two labels at least, so the overlap check below has something to check. Only a full hour
  // may stand alone: on a window just across hh:00, ECharts shows the hour's label and hides
  // the minutes beside it (seen once, a run at 08:00).
  const lonelyHour = labels.length === 1 && /^\d{1,2}:00$/.test(labels[0].text);
  assert.ok(labels.length >= 2 || lonelyHour, `${what}: ${labels.length} time label(s) shown: ${JSON.stringify(labels)}`);
  for (const l of labels) {
    assert.ok(l.w > 10, `${what}: label ${l.text} has no width`);
    assert.ok(l.x >= 0 && l.x + l.w <= width + 0.5, `${what}: label ${l.text} [${l.x}, ${l.x + l.w}] leaves the ${width} px chart`);
  }
  for (let i = 1; i < labels.length; i += 1) {
    const [left, right] = [labels[i - 1], labels[i]];
    assert.ok(left.x + left.w <= right.x,
      `${what}: "${left.text}" [${left.x.toFixed(1)}, ${(left.x + left.w).toFixed(1)}] overlaps "${right.text}" from ${right.x.toFixed(1)} (${width} px wide)`);
  }
}

test('natural order, no limit, port 8080, young sparklines, 375 px axis labels', async () => {
  const a = agentA();
  const url = wsUrl(a.port);
  browser = await launch({ viewport: { width: 1280, height: 900 } });
  const dash = new DashboardPage(browser.page);
  const opened = Date.now();
  await dash.open(httpUrl(a.port));
  await dash.waitForState(url, 'live');
  await dash.filter('fix-fleet-');
  await waitFor('12 fleet rows', () => rows(dash, url), (r) => r.length === 12);

  // A sparkline seconds old spans its width: the agent's history holds the container since it
  // started, seconds ago, its first reading perhaps without a CPU figure (not drawn).
  const row = (name) => dash.card(url).locator('[data-testid="container-row"]', { has: browser.page.getByText(name, { exact: true }) });
  const spark = row('fix-fleet-1').locator('.spark path.cpu');
  await waitFor('a drawn sparkline', () => spark.getAttribute('d'), (d) => Boolean(d));
  const [box, d] = await Promise.all([spark.evaluate((p) => p.getBBox().width), spark.getAttribute('d')]);
  const age = (Date.now() - opened) / 1000;
  assert.ok(age < 45, `measured ${age} s after opening: not the first minute any more`);
  // k points drawn stretch over at least (k − 1)/k of the width (a first reading without a
  // figure is not drawn), never over its right-hand end only.
  const points = (d.match(/[ML]/g) ?? []).length;
  assert.ok(points >= 2 && box >= SPARK_WIDTH * (points - 1) / points - 1, `${age.toFixed(1)} s in, the sparkline spans ${box} of ${SPARK_WIDTH} (${d})`);

  // Equal CPU (idle, 0.0 %) under the default CPU sort: names in natural order.
  const byCpu = await waitFor('idle fleet rows in natural order',
    () => rows(dash, url),
    (r) => r.length === 12 && r.every((x) => x.cpu === '0.0 %') && r.map((x) => x.name).join() === FLEET.join());
  assert.deepEqual(byCpu.map((r) => r.name), FLEET);
  // And the name column itself, both ways.
  await dash.card(url).getByTestId('sort-name').click();
  await waitFor('name sort ascending', () => dash.rowNames(url), (n) => n.join() === FLEET.join(), 5_000);
  await dash.card(url).getByTestId('sort-name').click();
  await waitFor('name sort descending', () => dash.rowNames(url), (n) => n.join() === [...FLEET].reverse().join(), 5_000);

  // Memory: no --memory says "no limit"; --memory 64m shows it.
  await dash.filter('fix-mem-');
  const mem = await waitFor('both memory rows', () => rows(dash, url), (r) => r.length === 2 && r.every((x) => x.mem !== '–'), 10_000);
  const memOf = (name) => mem.find((r) => r.name === name)?.mem;
  assert.match(memOf(FREE), /^\d+(\.\d+)? (B|KiB|MiB) \/ no limit$/, memOf(FREE));
  assert.match(memOf(CAPPED), /^\d+(\.\d+)? (B|KiB|MiB) \/ 64\.0 MiB$/, memOf(CAPPED));

  // The add box suggests the port agents listen on.
  const placeholder = await browser.page.getByTestId('add-agent-input').getAttribute('placeholder');
  assert.match(placeholder, /host:8080/, placeholder);
  assert.doesNotMatch(placeholder, /9100/, placeholder);
  await screenshot(browser.page, 'small-fixes-1280');
  await dash.assertNoPageErrors(browser.errors);
  await browser.close();

  // 375 px: the agent's chart and a container's detail chart label their time axes without
  // overlap.
  browser = await launch({ viewport: { width: 375, height: 812 } });
  const phone = new DashboardPage(browser.page);
  await phone.open(httpUrl(a.port));
  await phone.waitForState(url, 'live');
  await phone.filter(CAPPED);
  await waitFor('the capped row', () => rows(phone, url), (r) => r.length === 1);
  await phone.card(url).getByTestId('container-row').first().click();
  const detail = '[data-testid="detail-chart"]';
  await browser.page.locator(`${detail} canvas`).waitFor({ timeout: 5_000 });
  // Some seconds of samples, then the labels as drawn (ECharts repaints on its next frame).
  await browser.page.waitForTimeout(4_000);
  assertNoOverlap('detail chart at 375 px', await timeLabels(browser.page, detail));
  assertNoOverlap('agent chart at 375 px', await timeLabels(browser.page, '[data-testid="totals-chart"]'));
  await screenshot(browser.page, 'small-fixes-375');
  await phone.assertNoPageErrors(browser.errors);
});
