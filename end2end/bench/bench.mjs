// Dashboard benchmark (not a test): real chromium, 3 synthetic agents × 100 containers at 1 Hz.
//
// Measures, from navigation start:
//   - time to the first container row and to the first chart canvas;
// and over a steady-state window:
//   - every main-thread task of the page's renderer (CDP trace, RunTask), i.e. our rAF flush
//     plus the Leptos effects, DOM, style, layout, paint and ECharts work it causes;
//   - the dashboard's own flush (User Timing measures the page records with ?perf=true);
//   - long tasks (> 50 ms) reported by PerformanceObserver after load.
// Prints a table, and rewrites the "## Dashboard" section of docs/benchmarks.md.
//
// Env: BENCH_URL (page origin, default agent A), BENCH_PORTS="pA,pB,pC" (agent A serves the UI), BENCH_SECONDS (default 20),
//      BENCH_RUNS (cold loads for the first-row timing, default 5), BENCH_DOC (output file).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from './launch.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const ports = (process.env.BENCH_PORTS ?? '').split(',').filter(Boolean).map(Number);
if (ports.length !== 3) throw new Error('BENCH_PORTS must list 3 agent ports (run end2end/bench/run.sh)');
const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const runs = Number(process.env.BENCH_RUNS ?? 5);
const docPath = process.env.BENCH_DOC ?? path.join(root, 'docs/benchmarks.md');
const agentsParam = ports.map((p) => `127.0.0.1:${p}`).join(',');
const origin = process.env.BENCH_URL ?? `http://127.0.0.1:${ports[0]}/`;
const url = `${origin}?agents=${agentsParam}&perf=true`;

// Runs in the page before the app: records first row / first chart and long tasks.
function probe() {
  window.__bench = { firstRow: null, firstChart: null, allRows: null, longTasks: [] };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__bench.longTasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
  const check = () => {
    const b = window.__bench;
    const now = performance.now();
    if (b.firstRow === null && document.querySelector('[data-testid="container-row"]')) b.firstRow = now;
    if (b.firstChart === null && document.querySelector('[data-testid="totals-chart"] :is(svg, canvas)')) b.firstChart = now;
    if (b.allRows === null && document.querySelectorAll('[data-testid="container-row"]').length >= 75) b.allRows = now;
    return b.firstRow !== null && b.firstChart !== null && b.allRows !== null;
  };
  const observer = new MutationObserver(() => { if (check()) observer.disconnect(); });
  document.addEventListener('DOMContentLoaded', () => observer.observe(document.body, { childList: true, subtree: true }));
}


const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN; };
const fmt = (v) => (Number.isFinite(v) ? v.toFixed(1) : '–');

// 1. Cold loads: navigation → first row, first chart, all 300 rows.
const loads = [];
for (let i = 0; i < runs; i++) {
  const b = await launch(probe);
  await b.page.goto(url);
  await b.page.waitForFunction(() => window.__bench.allRows !== null && window.__bench.firstChart !== null, null, { timeout: 30_000 });
  loads.push(await b.page.evaluate(() => ({ ...window.__bench, longTasks: undefined })));
  await b.close();
}

// 2. Steady state: trace every main-thread task for `seconds`, first as the page opens (each
//    card shows its 25 busiest containers), then with "show all" on every card (300 rows
//    listed, those near the viewport rendered) while the page scrolls half a viewport every
//    2 s, down and back up.
async function steadyState(showAll) {
  const b = await launch(probe);
  await b.page.goto(url);
  await b.page.waitForFunction(() => window.__bench.allRows !== null, null, { timeout: 30_000 });
  if (showAll) {
    for (const button of await b.page.getByTestId('show-all').all()) await button.click();
    await b.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="shown-count"]')]
      .filter((e) => /Showing all 100 /.test(e.textContent)).length === 3);
  }
  await b.page.waitForTimeout(3_000); // let the load settle
  await b.page.evaluate(() => performance.clearMeasures());
  const cdp = await b.page.context().newCDPSession(b.page);
  const events = [];
  cdp.on('Tracing.dataCollected', ({ value }) => events.push(...value));
  const traced = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
  await cdp.send('Tracing.start', {
    transferMode: 'ReportEvents',
    traceConfig: { includedCategories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink', '__metadata', ...(process.env.BENCH_TRACE_EXTRA ? process.env.BENCH_TRACE_EXTRA.split(',') : [])] },
  });
  // Long tasks are counted between tracing's start and end (starting and stopping the tracer
  // are tasks of their own, not the page's).
  const since = await b.page.evaluate(() => performance.now());
  const scrolls = [];
  if (showAll) {
    for (let step = 0; step < seconds / 2; step++) {
      await b.page.waitForTimeout(2_000);
      const down = step % 10 < 5;
      scrolls.push(await b.page.evaluate((d) => {
        window.scrollBy(0, (d ? 0.5 : -0.5) * window.innerHeight);
        return performance.now();
      }, down));
    }
  } else {
    await b.page.waitForTimeout(seconds * 1_000);
  }
  const until = await b.page.evaluate(() => performance.now());
  await cdp.send('Tracing.end');
  await traced;
  // BENCH_TRACE=/tmp/t keeps the raw trace events (/tmp/t-top.json, /tmp/t-all.json) to look
  // inside the long tasks (Layout's dirtyObjects, which callbacks ran).
  if (process.env.BENCH_TRACE) fs.writeFileSync(`${process.env.BENCH_TRACE}-${showAll ? 'all' : 'top'}.json`, JSON.stringify(events));
  const page = await b.page.evaluate(([t0, t1]) => ({
    flushes: performance.getEntriesByName('dockscope-flush').map((e) => e.duration),
    charts: performance.getEntriesByName('dockscope-chart').map((e) => e.duration),
    longTasksAfterLoad: window.__bench.longTasks.filter((t) => t.start >= t0 && t.start <= t1),
    rows: document.querySelectorAll('[data-testid="container-row"]').length,
    listed: [...document.querySelectorAll('[data-testid="shown-count"]')]
      .map((e) => Number((/Showing (?:all )?(\d+)/.exec(e.textContent) ?? [])[1] ?? 0))
      .reduce((a, n) => a + n, 0),
    synthetic: document.querySelectorAll('[data-testid="synthetic-badge"]').length,
    live: [...document.querySelectorAll('[data-testid="agent-state"]')].map((e) => e.textContent),
  }), [since, until]);
  await b.close();
  const at = (t) => `+${(t.start - since).toFixed(0)} ms (${t.duration.toFixed(0)} ms${
    scrolls.some((s) => t.start >= s - 5 && t.start - s < 500) ? ', right after a scroll' : ''})`;
  const longAt = page.longTasksAfterLoad.map(at).join(', ') || 'none';

  const mainThreads = new Set(
    events
      .filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
      .map((e) => `${e.pid}:${e.tid}`),
  );
  const onMain = events.filter((e) => e.ph === 'X' && mainThreads.has(`${e.pid}:${e.tid}`));
  const tasks = onMain.filter((e) => e.name === 'RunTask');
  const callbacks = onMain.filter((e) => e.name === 'FireAnimationFrame');
  // Whose callback: the script of the function it calls. ECharts (zrender) repaints its canvas
  // from animation-frame callbacks of its own; ours are the flush and the Leptos effects it runs.
  const calls = onMain.filter((e) => e.name === 'FunctionCall');
  const isECharts = (cb) => calls.some((f) => f.ts >= cb.ts && f.ts <= cb.ts + cb.dur
    && /echarts/.test(f.args?.data?.url ?? ''));
  const ours = callbacks.filter((cb) => !isECharts(cb)).map((e) => e.dur / 1_000);
  const echarts = callbacks.filter(isECharts).map((e) => e.dur / 1_000);
  // Whole frames: tasks that contain a rendering update, i.e. our work plus style, layout,
  // paint and ECharts' own repaint.
  const frameMarks = onMain.filter((e) => e.name === 'WebFrameWidgetImpl::UpdateLifecycle');
  const frames = tasks
    .filter((t) => frameMarks.some((m) => m.ts >= t.ts && m.ts <= t.ts + t.dur))
    .map((t) => t.dur / 1_000);
  // Where the long tasks go: time of the outermost traced events inside each task over 50 ms.
  const long = tasks.filter((t) => t.dur > 50_000);
  const inside = (e, t) => e !== t && e.ts >= t.ts && e.ts + e.dur <= t.ts + t.dur;
  const breakdown = {};
  for (const t of long) {
    // Frame wrappers say nothing; look at the phases inside them.
    const wrappers = new Set(['RunTask', 'WebFrameWidgetImpl::UpdateLifecycle', 'WebFrameWidgetImpl::BeginMainFrame', 'ThreadControllerImpl::RunTask', 'PageAnimator::serviceScriptedAnimations', 'LocalFrameView::RunPostLifecycleSteps',
      'LocalFrameView::RunStyleAndLayoutLifecyclePhases', 'LocalFrameView::UpdateStyleAndLayout',
      'Blink.Animate.UpdateTime', 'FrameRequestCallbackCollection::ExecuteFrameCallbacks', 'LocalFrameView::RunPaintLifecyclePhase']);
    const children = onMain.filter((e) => !wrappers.has(e.name) && inside(e, t));
    for (const e of children) {
      if (children.some((p) => p !== e && p.dur > e.dur && inside(e, p))) continue;
      breakdown[e.name] = (breakdown[e.name] ?? 0) + e.dur / 1_000;
    }
  }
  return { page, ours, echarts, frames, tasks: tasks.map((t) => t.dur / 1_000), long: long.length, breakdown, longAt };
}

const top = await steadyState(false);
const all = await steadyState(true);
const spread = (xs) => `${fmt(pct(xs, 0.5))} / ${fmt(pct(xs, 0.99))} / ${fmt(Math.max(...xs, 0))}`;
const over = (xs, limit) => `${xs.filter((x) => x > limit).length} of ${xs.length}`;

const rows = [
  ['first container row after navigation (ms, median of ' + runs + ' cold loads)', median(loads.map((l) => l.firstRow)), '< 1000', '', ''],
  ['first chart drawn after navigation (ms, median)', median(loads.map((l) => l.firstChart)), '', '', ''],
  ['75 rows (3 cards × 25) on screen after navigation (ms, median)', median(loads.map((l) => l.allRows)), '', '', ''],
];
const steady = [
  ['rows listed / rendered in the page', `${top.page.listed} / ${top.page.rows}`, `${all.page.listed} / ${all.page.rows}`, ''],
  ['dashboard flush, WASM only (ms, p50 / p99 / max)', spread(top.page.flushes), spread(all.page.flushes), ''],
  ['… of which ECharts setOption of one totals chart (ms, p50 / max)', `${fmt(pct(top.page.charts, 0.5))} / ${fmt(Math.max(...top.page.charts, 0))}`, `${fmt(pct(all.page.charts, 0.5))} / ${fmt(Math.max(...all.page.charts, 0))}`, ''],
  ['our animation-frame callbacks incl. Leptos effects (ms, p50 / p99 / max)', spread(top.ours), spread(all.ours), '≤ 16'],
  ['our animation-frame callbacks over 16 ms', over(top.ours, 16), over(all.ours, 16), '0'],
  ["ECharts' own repaint callbacks (ms, p50 / p99 / max)", spread(top.echarts), spread(all.echarts), ''],
  ["ECharts' own repaint callbacks over 16 ms", over(top.echarts, 16), over(all.echarts, 16), ''],
  ['whole frames incl. style/layout/paint (ms, p50 / p99 / max)', spread(top.frames), spread(all.frames), ''],
  ['whole frames over 16 ms', over(top.frames, 16), over(all.frames, 16), ''],
  ['main-thread tasks over 50 ms', over(top.tasks, 50), over(all.tasks, 50), '0'],
  ['long tasks (PerformanceObserver) after load', String(top.page.longTasksAfterLoad.length), String(all.page.longTasksAfterLoad.length), '0'],
];
const page = top.page;
const when = new Date().toISOString().slice(0, 10);
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const header = `3 synthetic agents × 100 containers at 1 Hz, ${page.synthetic} cards labelled synthetic (${page.live.join(', ')}); ${seconds} s traced per steady state; ${os.cpus().length} cores (${cpu}, load average ${os.loadavg()[0].toFixed(1)} at the end), headless Debian chromium, ${when}.`;
const table = [
  '| load | value | target |',
  '|---|---|---|',
  ...rows.map(([k, v, t]) => `| ${k} | ${typeof v === 'number' ? fmt(v) : v} | ${t} |`),
  '',
  '| steady state | 25 busiest per card | "show all" on every card | target |',
  '|---|---|---|---|',
  ...steady.map(([k, a, b, t]) => `| ${k} | ${a} | ${b} | ${t} |`),
].join('\n');
console.log(`\n${header}\n\n${table}\n`);
const breakdown = [['25 busiest per card', top], ['"show all"', all]]
  .map(([label, r]) => {
    const parts = Object.entries(r.breakdown)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 5)
      .map(([name, ms]) => `\`${name}\` ${ms.toFixed(0)} ms`);
    return `- ${label}: ${r.long} task(s) over 50 ms; inside them ${parts.join(', ') || '–'}.`;
  })
  .join('\n');
console.log(`Where the tasks over 50 ms went:\n${breakdown}\n`);
const longAt = `- 25 busiest per card: ${top.longAt}.\n- "show all": ${all.longAt}.`;
console.log(`Long tasks (PerformanceObserver), from the trace's start:\n${longAt}\n`);

const section = `## Dashboard

Command: \`end2end/bench/run.sh\` (needs \`scripts/build.sh\` first). It starts three agents with
\`--synthetic-containers 100\` (one with \`--serve-ui\`), opens
\`/?agents=<the three>&perf=true\` in headless chromium, times ${runs} cold loads, then traces the
renderer's main thread (CDP) for ${seconds} s of steady 1 Hz updates, twice: as the page opens
(each card shows its 25 busiest containers) and with "show all" clicked on every card, while the
page scrolls half a viewport every 2 s (a card then lists 100 rows but renders only those near
the viewport).

${header}

${table}

"dashboard flush" is the WASM code that folds the buffered messages into signals once per
animation frame (User Timing, recorded only with \`?perf=true\`); "our animation-frame callbacks"
adds the Leptos effects it runs (keyed rows, per-row signals, sparklines, ECharts \`setOption\`);
"ECharts' own repaint callbacks" are the animation-frame callbacks ECharts (zrender) schedules to
repaint a chart's canvas after \`setOption\` — told apart by the script the callback calls;
"whole frames" are the renderer tasks that produce a frame: ours plus Chromium's style, layout,
paint and layerize work and ECharts' own repaint. The machine is shared and busy (see the load
average), so treat single-digit differences as noise.

Where the tasks over 50 ms went (outermost traced phases inside them, summed):

${breakdown}

When the long tasks (PerformanceObserver, counted between the tracer's start and end) began,
from the start of the trace, and whether within 500 ms of one of the page's scroll steps:

${longAt}
`;
let doc = fs.existsSync(docPath) ? fs.readFileSync(docPath, 'utf8') : '# Benchmarks\n';
const start = doc.indexOf('## Dashboard');
if (start >= 0) {
  const next = doc.indexOf('\n## ', start + 1);
  doc = doc.slice(0, start) + section + (next >= 0 ? '\n' + doc.slice(next + 1) : '');
} else {
  doc = doc.trimEnd() + '\n\n' + section;
}
fs.writeFileSync(docPath, doc);
console.log(`wrote the Dashboard section of ${path.relative(root, docPath)}`);
