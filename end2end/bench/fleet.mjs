// Dashboard benchmark (not a test): the fleet view of N synthetic agents × 100 containers at
// 1 Hz in headless chromium, every agent saved in the page's list (a `?agents=` link opens at
// most 20).
//
// Measures:
//   - navigation → the first fleet row, and → every tile live (cold loads);
//   - over a steady window: main-thread long tasks (PerformanceObserver, > 50 ms), how often
//     the fleet table's figures change (sampled every 100 ms), tiles live;
//   - memory, after load and again `BENCH_MINUTES` later: the page's JS heap (CDP
//     Runtime.getHeapUsage), its WASM memory, and the renderer process's RSS (which also holds
//     the agents' socket workers, their heaps and WASM).
// Prints a table and rewrites the "## Dashboard: fleet view, N agents" section of
// docs/benchmarks.md.
//
// Env: BENCH_PORTS (the agents' ports; the first serves the page), BENCH_WARMUP (seconds the
// agents run before the first page opens, default 0), BENCH_SECONDS (default 20),
// BENCH_MINUTES (default 10), BENCH_RUNS (cold loads, default 3), BENCH_DOC (output file).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { launch } from './launch.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const ports = (process.env.BENCH_PORTS ?? '').split(',').filter(Boolean).map(Number);
if (ports.length < 2) throw new Error('BENCH_PORTS must list the agents (run end2end/bench/run.sh fleet N)');
const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const minutes = Number(process.env.BENCH_MINUTES ?? 10);
const runs = Number(process.env.BENCH_RUNS ?? 3);
// Seconds the agents run before the first page opens: a page opened on agents that have run
// 5 minutes takes their history on connect, so its memory is at its plateau from the start.
const warmup = Number(process.env.BENCH_WARMUP ?? 0);
const docPath = process.env.BENCH_DOC ?? path.join(root, 'docs/benchmarks.md');
const url = `http://127.0.0.1:${ports[0]}/?perf=true`;
const saved = JSON.stringify({ version: 1, agents: ports.map((p) => `ws://127.0.0.1:${p}/ws`), view: { fleet: true } });

// Runs in the page before the app: the saved list, and the moments the fleet view is ready.
function probe({ list, hosts }) {
  if (!localStorage.getItem('dockscope.agents')) localStorage.setItem('dockscope.agents', list);
  window.__bench = { firstRow: null, allLive: null, longTasks: [], frames: [], wasm: null };
  addEventListener('TrunkApplicationStarted', (e) => { window.__bench.wasm = e.detail.wasm; });
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) window.__bench.longTasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
  // Long animation frames name the scripts that ran in them: what a long task was.
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      window.__bench.frames.push({
        start: e.startTime, duration: e.duration, render: e.renderStart ? e.startTime + e.duration - e.renderStart : 0,
        scripts: e.scripts.map((s) => ({ invoker: s.invoker, fn: s.sourceFunctionName, duration: s.duration })),
      });
      if (window.__bench.frames.length > 500) window.__bench.frames.shift();
    }
  }).observe({ type: 'long-animation-frame', buffered: true });
  const check = () => {
    const b = window.__bench;
    const now = performance.now();
    if (b.firstRow === null && document.querySelector('[data-testid="fleet-row"]:not([hidden])')) b.firstRow = now;
    if (b.allLive === null && document.querySelectorAll('[data-testid="fleet-tile"][data-state="up"]').length === hosts) b.allLive = now;
    return b.firstRow !== null && b.allLive !== null;
  };
  const observer = new MutationObserver(() => { if (check()) observer.disconnect(); });
  document.addEventListener('DOMContentLoaded', () => observer.observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true }));
}

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => sorted(xs)[Math.floor(xs.length / 2)];
const fmt = (v) => (Number.isFinite(v) ? v.toFixed(1) : '–');
const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;

/** The renderer processes' resident memory (the page and its workers share one). */
function rendererRss() {
  const out = execFileSync('ps', ['-C', 'chromium', '-o', 'rss=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes('--type=renderer'))
    .reduce((sum, l) => sum + Number(l.trim().split(/\s+/)[0]) * 1024, 0);
}

async function memory(page, cdp) {
  const heap = await cdp.send('Runtime.getHeapUsage');
  const wasm = await page.evaluate(() => window.__bench.wasm?.memory?.buffer.byteLength ?? 0);
  return { heap: heap.usedSize, wasm, rss: rendererRss() };
}

if (warmup > 0) await new Promise((r) => setTimeout(r, warmup * 1_000));

// 1. Cold loads.
const loads = [];
for (let i = 0; i < runs; i++) {
  const b = await launch(probe, { list: saved, hosts: ports.length });
  await b.page.goto(url);
  await b.page.waitForFunction(() => window.__bench.allLive !== null && window.__bench.firstRow !== null, null, { timeout: 60_000 });
  loads.push(await b.page.evaluate(() => ({ firstRow: window.__bench.firstRow, allLive: window.__bench.allLive })));
  await b.close();
}

// 2. Steady state, then memory over `minutes`, in one page.
const b = await launch(probe, { list: saved, hosts: ports.length });
const page = b.page;
const cdp = await page.context().newCDPSession(page);
await page.goto(url);
await page.waitForFunction(() => window.__bench.allLive !== null, null, { timeout: 60_000 });
await page.waitForTimeout(5_000);
const memStart = await memory(page, cdp);
const steady = await page.evaluate(async (secs) => {
  const t0 = performance.now();
  const figures = () => [...document.querySelectorAll('[data-testid="fleet-cpu"]')].map((e) => e.textContent).join();
  let last = figures();
  const changes = [];
  while (performance.now() - t0 < secs * 1_000) {
    await new Promise((r) => setTimeout(r, 100));
    const now = figures();
    if (now !== last) changes.push(performance.now());
    last = now;
  }
  // Changes within 300 ms of the one before are one update drawn over a few frames.
  const updates = changes.filter((t, i) => i === 0 || t - changes[i - 1] > 300);
  return {
    t0,
    longTasks: window.__bench.longTasks.filter((t) => t.start >= t0).map((t) => t.duration),
    updatesPerSecond: updates.length / secs,
    live: document.querySelectorAll('[data-testid="fleet-tile"][data-state="up"]').length,
    rows: document.querySelectorAll('[data-testid="fleet-row"]:not([hidden])').length,
  };
}, seconds);
const samples = [memStart];
for (let m = 1; m <= minutes; m++) {
  await page.waitForTimeout(60_000);
  samples.push(await memory(page, cdp));
}
const memEnd = samples[samples.length - 1];
const lateLong = await page.evaluate(() => window.__bench.longTasks.length);
// Every long task since navigation (`at`: seconds from the steady window's start; start-up's
// are negative), with the scripts of the long animation frame it fell in (the biggest
// first): what held the main thread.
const all = await page.evaluate((t0) => {
  const b = window.__bench;
  return b.longTasks.map((t) => {
    const f = b.frames.find((f) => f.start <= t.start + 1 && t.start < f.start + f.duration);
    const scripts = f ? [...f.scripts].sort((x, y) => y.duration - x.duration).slice(0, 3)
      .map((s) => `${s.invoker}${s.fn ? ` ${s.fn}` : ''} ${s.duration.toFixed(0)} ms`) : [];
    return { at: (t.start - t0) / 1000, duration: t.duration, render: f?.render ?? 0, scripts };
  });
}, steady.t0);
const whole = all.filter((t) => t.at >= 0);
for (const t of all) {
  console.log(`long task at ${t.at >= 0 ? '+' : ''}${t.at.toFixed(1)} s: ${t.duration.toFixed(0)} ms (render ${t.render.toFixed(0)} ms) ${t.scripts.join('; ') || '(no script attributed)'}`);
}
await b.close();

const n = ports.length;
const rows = [
  [`first fleet row after navigation (ms, median of ${runs} cold loads)`, fmt(median(loads.map((l) => l.firstRow))), '< 1000'],
  [`all ${n} tiles live after navigation (ms, median)`, fmt(median(loads.map((l) => l.allLive))), ''],
  [`tiles live / rows shown at the end of the steady window`, `${steady.live} / ${steady.rows}`, `${n} / 25`],
  [`fleet table updates per second (${seconds} s)`, steady.updatesPerSecond.toFixed(2), '1'],
  [`main-thread tasks over 50 ms (PerformanceObserver, ${seconds} s)`, `${steady.longTasks.length}${steady.longTasks.length ? ` (longest ${fmt(Math.max(...steady.longTasks))} ms)` : ''}`, '0'],
  ['page JS heap, after load → after ' + minutes + ' min', `${mib(memStart.heap)} → ${mib(memEnd.heap)}`, 'flat'],
  ['page WASM memory, after load → after ' + minutes + ' min', `${mib(memStart.wasm)} → ${mib(memEnd.wasm)}`, 'flat'],
  ['renderer RSS (page + socket workers), after load → after ' + minutes + ' min', `${mib(memStart.rss)} → ${mib(memEnd.rss)}`, ''],
  [`main-thread tasks over 50 ms from the steady window's start to the end (${minutes} min)`, `${whole.length}${whole.length ? ` (longest ${fmt(Math.max(...whole.map((t) => t.duration)))} ms)` : ''}`, '0'],
  ['long tasks since navigation, at the end', String(lateLong), ''],
];
const perMinute = samples.map((s, i) => `${i} min: heap ${mib(s.heap)}, wasm ${mib(s.wasm)}, rss ${mib(s.rss)}`).join('; ');
const when = new Date().toISOString().slice(0, 10);
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const header = `${n} agents with \`--synthetic-containers 100\` at 1 Hz (labelled synthetic; the first also serves the page), all in the page's saved list, fleet view on, the page opened ${warmup} s after the agents started (so it takes up to 5 minutes of their history on connect); ${os.cpus().length} cores (${cpu}, load average ${os.loadavg()[0].toFixed(1)} at the end), headless Debian chromium, ${when}.`;
const table = ['| measure | value | target |', '|---|---|---|', ...rows.map(([k, v, t]) => `| ${k} | ${v} | ${t} |`)].join('\n');
console.log(`\n${header}\n\n${table}\n\nper minute: ${perMinute}\n`);

const title = `## Dashboard: fleet view, ${n} agents`;
const section = `${title}

Command: \`BENCH_WARMUP=${warmup} BENCH_MINUTES=${minutes} end2end/bench/run.sh fleet ${n}\` (needs \`scripts/build.sh\` first).

${header}

${table}

Memory per minute: ${perMinute}.

Every long task of the measured page (s from the steady window's start, negative at start-up: ms, the long animation frame's biggest script): ${all.map((t) => `${t.at.toFixed(1)} s: ${t.duration.toFixed(0)} ms, ${t.scripts[0] ?? 'none attributed'}`).join('; ') || 'none'}.
`;
let doc = fs.existsSync(docPath) ? fs.readFileSync(docPath, 'utf8') : '# Benchmarks\n';
const start = doc.indexOf(title + '\n');
if (start >= 0) {
  const next = doc.indexOf('\n## ', start + 1);
  doc = doc.slice(0, start) + section + (next >= 0 ? '\n' + doc.slice(next + 1) : '');
} else {
  const anchor = doc.indexOf('## Dashboard: hostile frames');
  doc = anchor >= 0 ? `${doc.slice(0, anchor)}${section}\n${doc.slice(anchor)}` : `${doc.trimEnd()}\n\n${section}`;
}
fs.writeFileSync(docPath, doc);
console.log(`wrote "${title}" in ${path.relative(root, docPath)}`);
