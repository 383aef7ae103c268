// Dashboard benchmark (not a test): one card of 10,000 containers (a real agent with
// --synthetic-containers 10000, 1 Hz, ~2 MB per batch) in headless chromium.
//
// Measures:
//   - navigation → first container row, and → the card saying it lists all 10,000 (cold loads);
//   - over a steady window after load: main-thread long tasks (PerformanceObserver, > 50 ms),
//     the dashboard's ingest slices and flushes (User Timing, ?perf=true);
//   - filter answers: from the filter box's `input` event to the rows on screen all matching.
// Prints a table and rewrites the "## Dashboard: one card of 10,000 containers" section of
// docs/benchmarks.md.
//
// Env: BENCH_PORT (agent serving the UI), BENCH_CONTAINERS (default 10000), BENCH_SECONDS
// (default 20), BENCH_RUNS (cold loads, default 5), BENCH_DOC (output file).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from './launch.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const port = Number(process.env.BENCH_PORT);
if (!port) throw new Error('BENCH_PORT is not set (run end2end/bench/run.sh big)');
const containers = Number(process.env.BENCH_CONTAINERS ?? 10_000);
const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const runs = Number(process.env.BENCH_RUNS ?? 5);
const docPath = process.env.BENCH_DOC ?? path.join(root, 'docs/benchmarks.md');
const url = `http://127.0.0.1:${port}/?agents=127.0.0.1:${port}&perf=true`;

function probe(total) {
  window.__bench = { firstRow: null, listed: null, longTasks: [] };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__bench.longTasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
  const check = () => {
    const b = window.__bench;
    const now = performance.now();
    if (b.firstRow === null && document.querySelector('[data-testid="container-row"]')) b.firstRow = now;
    if (b.listed === null && [...document.querySelectorAll('[data-testid="shown-count"]')]
      .some((e) => e.textContent.includes(`of ${total} containers`))) b.listed = now;
    return b.firstRow !== null && b.listed !== null;
  };
  const observer = new MutationObserver(() => { if (check()) observer.disconnect(); });
  document.addEventListener('DOMContentLoaded', () => observer.observe(document.body, { childList: true, subtree: true, characterData: true }));
}


const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => sorted(xs)[Math.floor(xs.length / 2)];
const pct = (xs, p) => { const s = sorted(xs); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN; };
const fmt = (v) => (Number.isFinite(v) ? v.toFixed(1) : '–');
const spread = (xs) => `${fmt(pct(xs, 0.5))} / ${fmt(pct(xs, 0.99))} / ${fmt(xs.length ? Math.max(...xs) : NaN)}`;

// 1. Cold loads.
const loads = [];
for (let i = 0; i < runs; i++) {
  const b = await launch(probe, containers);
  await b.page.goto(url);
  await b.page.waitForFunction(() => window.__bench.listed !== null, null, { timeout: 30_000 });
  loads.push(await b.page.evaluate(() => ({ firstRow: window.__bench.firstRow, listed: window.__bench.listed })));
  await b.close();
}

// 2. Steady state, then filters, in one page.
const b = await launch(probe, containers);
const page = b.page;
await page.goto(url);
await page.waitForFunction(() => window.__bench.listed !== null, null, { timeout: 30_000 });
await page.waitForTimeout(3_000); // let the load settle: the first batches create the rows
await page.evaluate(() => performance.clearMeasures());
const t0 = await page.evaluate(() => performance.now());
await page.waitForTimeout(seconds * 1_000);
const steady = await page.evaluate((since) => ({
  longTasks: window.__bench.longTasks.filter((t) => t.start >= since).map((t) => t.duration),
  ingest: performance.getEntriesByName('dockscope-ingest').map((e) => e.duration),
  flush: performance.getEntriesByName('dockscope-flush').map((e) => e.duration),
  state: document.querySelector('[data-testid="agent-state"]')?.textContent,
  shown: document.querySelector('[data-testid="shown-count"]')?.textContent,
}), t0);

// Synthetic names: synthetic-000 … synthetic-9999 (three digits at least).
const names = Array.from({ length: containers }, (_, i) => `synthetic-${String(i).padStart(3, '0')}`);
const needles = ['synthetic-4242', 'synthetic-12', '777', 'synthetic-9', 'nothing-matches', '', 'synthetic-0', '42', 'synthetic-31', ''];
const filterT0 = await page.evaluate(() => performance.now());
const answers = [];
for (const needle of needles) {
  const expected = Math.min(25, names.filter((n) => n.includes(needle)).length);
  const ms = await page.evaluate(([text, want]) => new Promise((resolve) => {
    const input = document.querySelector('[data-testid="filter-input"]');
    const start = performance.now();
    input.value = text;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    const done = () => {
      const rows = [...document.querySelectorAll('[data-testid="container-row"]')];
      const shown = rows.map((r) => r.querySelector('[data-testid="container-name"]').textContent);
      const ok = want === 0
        ? document.querySelector('[data-testid="no-match"]') !== null
        : shown.length === want && shown.every((n) => n.includes(text));
      if (ok) resolve(performance.now() - start);
      else requestAnimationFrame(done);
    };
    requestAnimationFrame(done);
  }), [needle, expected]);
  answers.push({ needle, ms });
  await page.waitForTimeout(1_500);
}
const filterLong = await page.evaluate((since) => window.__bench.longTasks
  .filter((t) => t.start >= since).map((t) => t.duration), filterT0);
await b.close();

const rowsLoad = [
  ['first container row after navigation (ms, median of ' + runs + ' cold loads)', fmt(median(loads.map((l) => l.firstRow))), '< 1000'],
  [`card lists all ${containers} after navigation (ms, median)`, fmt(median(loads.map((l) => l.listed))), ''],
];
const rowsSteady = [
  ['card state / shown-count line at the end', `${steady.state} / ${steady.shown?.trim()}`, ''],
  [`main-thread tasks over 50 ms after load (PerformanceObserver, ${seconds} s)`, `${steady.longTasks.length}${steady.longTasks.length ? ` (longest ${fmt(Math.max(...steady.longTasks))} ms)` : ''}`, '0'],
  ['ingest slices, WASM (ms, p50 / p99 / max; count; budget 8 ms, a frame\'s first pass is one step)', `${spread(steady.ingest)}; ${steady.ingest.length}`, ''],
  ['flushes, WASM (ms, p50 / p99 / max)', spread(steady.flush), ''],
  [`filter answers, input → rows on screen match (ms, median / max of ${answers.length})`, `${fmt(median(answers.map((a) => a.ms)))} / ${fmt(Math.max(...answers.map((a) => a.ms)))}`, '< 100'],
  ['main-thread tasks over 50 ms while filtering', `${filterLong.length}${filterLong.length ? ` (longest ${fmt(Math.max(...filterLong))} ms)` : ''}`, '0'],
];
const when = new Date().toISOString().slice(0, 10);
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const header = `One agent with \`--synthetic-containers ${containers}\` at 1 Hz (also serving the page); ${os.cpus().length} cores (${cpu}, load average ${os.loadavg()[0].toFixed(1)} at the end), headless Debian chromium, ${when}.`;
const table = [
  '| measure | value | target |',
  '|---|---|---|',
  ...[...rowsLoad, ...rowsSteady].map(([k, v, t]) => `| ${k} | ${v} | ${t} |`),
].join('\n');
const perFilter = answers.map((a) => `\`${a.needle || '(cleared)'}\` ${fmt(a.ms)}`).join(', ');
console.log(`\n${header}\n\n${table}\n\nfilter answers (ms): ${perFilter}\n`);

const title = '## Dashboard: one card of 10,000 containers';
const section = `${title}

Command: \`end2end/bench/run.sh big\` (needs \`scripts/build.sh\` first). It starts one agent with
\`--synthetic-containers ${containers} --serve-ui\` (batches of ~2 MB every second), opens
\`/?agents=<it>&perf=true\` in headless chromium, times ${runs} cold loads, then watches ${seconds} s
of steady updates and types ${answers.length} filters, each timed from the filter box's \`input\`
event until the rows on screen all match it.

${header}

${table}

Filter answers one by one (ms): ${perFilter}.

How: a batch is decoded in ingest slices of at most 8 ms (\`ingest.rs\`, \`frame.rs\`), folded in
one step, and the card renders its 25 busiest rows, picked without sorting the rest.
`;
let doc = fs.existsSync(docPath) ? fs.readFileSync(docPath, 'utf8') : '# Benchmarks\n';
const start = doc.indexOf(title);
if (start >= 0) {
  const next = doc.indexOf('\n## ', start + 1);
  doc = doc.slice(0, start) + section + (next >= 0 ? '\n' + doc.slice(next + 1) : '');
} else {
  // After the three-agent dashboard section.
  const dash = doc.indexOf('## Dashboard');
  const next = dash >= 0 ? doc.indexOf('\n## ', dash + 1) : -1;
  doc = next >= 0 ? `${doc.slice(0, next + 1)}${section}\n${doc.slice(next + 1)}` : `${doc.trimEnd()}\n\n${section}`;
}
fs.writeFileSync(docPath, doc);
console.log(`wrote "${title}" in ${path.relative(root, docPath)}`);
