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
// Env: BENCH_PORTS="pA,pB,pC" (agent A serves the UI), BENCH_SECONDS (default 20),
//      BENCH_RUNS (cold loads for the first-row timing, default 5), BENCH_DOC (output file).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_ARGS } from '../tests/fixtures/browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const ports = (process.env.BENCH_PORTS ?? '').split(',').filter(Boolean).map(Number);
if (ports.length !== 3) throw new Error('BENCH_PORTS must list 3 agent ports (run end2end/bench/run.sh)');
const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const runs = Number(process.env.BENCH_RUNS ?? 5);
const docPath = process.env.BENCH_DOC ?? path.join(root, 'docs/benchmarks.md');
const agentsParam = ports.map((p) => `127.0.0.1:${p}`).join(',');
const url = `http://127.0.0.1:${ports[0]}/?agents=${agentsParam}&perf=true`;

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
    if (b.firstChart === null && document.querySelector('[data-testid="totals-chart"] canvas')) b.firstChart = now;
    if (b.allRows === null && document.querySelectorAll('[data-testid="container-row"]').length >= 300) b.allRows = now;
    return b.firstRow !== null && b.firstChart !== null && b.allRows !== null;
  };
  const observer = new MutationObserver(() => { if (check()) observer.disconnect(); });
  document.addEventListener('DOMContentLoaded', () => observer.observe(document.body, { childList: true, subtree: true }));
}

async function launch() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dockscope-bench-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1600, height: 1000 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.addInitScript(probe);
  return { page, close: async () => { await context.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN; };
const fmt = (v) => (Number.isFinite(v) ? v.toFixed(1) : '–');

// 1. Cold loads: navigation → first row, first chart, all 300 rows.
const loads = [];
for (let i = 0; i < runs; i++) {
  const b = await launch();
  await b.page.goto(url);
  await b.page.waitForFunction(() => window.__bench.allRows !== null && window.__bench.firstChart !== null, null, { timeout: 30_000 });
  loads.push(await b.page.evaluate(() => ({ ...window.__bench, longTasks: undefined })));
  await b.close();
}

// 2. Steady state: trace every main-thread task for `seconds`.
const b = await launch();
await b.page.goto(url);
await b.page.waitForFunction(() => window.__bench.allRows !== null, null, { timeout: 30_000 });
await b.page.waitForTimeout(3_000); // let the load settle
const loadEnd = await b.page.evaluate(() => performance.now());
await b.page.evaluate(() => performance.clearMeasures('dockscope-flush'));
const cdp = await b.page.context().newCDPSession(b.page);
const events = [];
cdp.on('Tracing.dataCollected', ({ value }) => events.push(...value));
const traced = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
await cdp.send('Tracing.start', {
  transferMode: 'ReportEvents',
  traceConfig: { includedCategories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', '__metadata'] },
});
await b.page.waitForTimeout(seconds * 1_000);
await cdp.send('Tracing.end');
await traced;
const page = await b.page.evaluate((since) => ({
  flushes: performance.getEntriesByName('dockscope-flush').map((e) => e.duration),
  longTasksAfterLoad: window.__bench.longTasks.filter((t) => t.start >= since),
  rows: document.querySelectorAll('[data-testid="container-row"]').length,
  synthetic: document.querySelectorAll('[data-testid="synthetic-badge"]').length,
  live: [...document.querySelectorAll('[data-testid="agent-state"]')].map((e) => e.textContent),
}), loadEnd);
await b.close();

const mainTids = new Set(
  events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`),
);
const tasks = events
  .filter((e) => e.name === 'RunTask' && e.ph === 'X' && mainTids.has(`${e.pid}:${e.tid}`))
  .map((e) => e.dur / 1_000);
const frames = events.filter((e) => mainTids.has(`${e.pid}:${e.tid}`) && e.name === 'BeginMainFrame' && e.ph === 'X').map((e) => e.dur / 1_000);
const animationFrames = events
  .filter((e) => mainTids.has(`${e.pid}:${e.tid}`) && e.name === 'FireAnimationFrame' && e.ph === 'X')
  .map((e) => e.dur / 1_000);

const rows = [
  ['first container row after navigation (ms, median of ' + runs + ')', median(loads.map((l) => l.firstRow)), '< 1000'],
  ['first chart canvas after navigation (ms, median)', median(loads.map((l) => l.firstChart)), ''],
  ['all 300 rows after navigation (ms, median)', median(loads.map((l) => l.allRows)), ''],
  ['dashboard flush, Rust → signals (ms, p50 / p99 / max)', `${fmt(pct(page.flushes, 0.5))} / ${fmt(pct(page.flushes, 0.99))} / ${fmt(Math.max(...page.flushes))}`, ''],
  ['requestAnimationFrame callbacks incl. effects (ms, p50 / p99 / max)', `${fmt(pct(animationFrames, 0.5))} / ${fmt(pct(animationFrames, 0.99))} / ${fmt(Math.max(...animationFrames, 0))}`, '≤ 16'],
  ['main-thread tasks (ms, p50 / p99 / max)', `${fmt(pct(tasks, 0.5))} / ${fmt(pct(tasks, 0.99))} / ${fmt(Math.max(...tasks))}`, ''],
  ['main-thread tasks over 16 ms', `${tasks.filter((t) => t > 16).length} of ${tasks.length}`, '0'],
  ['rendering (BeginMainFrame: style, layout, paint) (ms, p99 / max)', `${fmt(pct(frames, 0.99))} / ${fmt(Math.max(...frames, 0))}`, ''],
  ['long tasks > 50 ms after load', String(page.longTasksAfterLoad.length), '0'],
];

const when = new Date().toISOString().slice(0, 10);
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const header = `${seconds} s steady state, ${page.rows} rows on screen, ${page.synthetic} agents labelled synthetic (${page.live.join(', ')}); ${os.cpus().length} cores (${cpu}), headless Debian chromium, ${when}.`;
const table = ['| measure | value | target |', '|---|---|---|', ...rows.map(([k, v, t]) => `| ${k} | ${typeof v === 'number' ? fmt(v) : v} | ${t} |`)].join('\n');
console.log(`\n${header}\n\n${table}\n`);

const section = `## Dashboard

Command: \`end2end/bench/run.sh\` (needs \`scripts/build.sh\` first). It starts three agents with
\`--synthetic-containers 100\` (one with \`--serve-ui\`), opens
\`/?agents=<the three>&perf=true\` in headless chromium, times ${runs} cold loads, then traces the
renderer's main thread (CDP) for ${seconds} s of steady 1 Hz updates.

${header}

${table}

"dashboard flush" is the WASM code that folds the buffered messages into signals once per
animation frame (User Timing, recorded only with \`?perf=true\`); the requestAnimationFrame row adds the
Leptos effects it triggers (keyed rows, per-row signals, sparklines, ECharts \`setOption\`);
"main-thread tasks" is every task of the page's renderer, including style, layout and paint.
`;
let doc = fs.existsSync(docPath) ? fs.readFileSync(docPath, 'utf8') : '# Benchmarks\n';
const start = doc.indexOf('## Dashboard');
if (start >= 0) {
  const next = doc.indexOf('\n## ', start + 1);
  doc = doc.slice(0, start) + section + (next >= 0 ? doc.slice(next + 1) : '');
} else {
  doc = doc.trimEnd() + '\n\n' + section;
}
fs.writeFileSync(docPath, doc);
console.log(`wrote the Dashboard section of ${path.relative(root, docPath)}`);
