// Diagnosis, not a benchmark: what the fleet page's long main-thread tasks are made of. Opens
// the fleet view of the agents in BENCH_PORTS like fleet.mjs, waits until every tile is live
// and BENCH_SETTLE seconds more (default 10), records a Chromium trace for BENCH_TRACE_SECS
// (default 180), then prints every renderer main-thread task over 50 ms with the biggest
// events inside it (garbage collection, a script, style, layout, paint).
//
//   BENCH_WARMUP=300 end2end/bench/run.sh fleet-trace 20
import { launch } from './launch.mjs';

const ports = (process.env.BENCH_PORTS ?? '').split(',').filter(Boolean).map(Number);
if (ports.length < 2) throw new Error('BENCH_PORTS must list the agents (run end2end/bench/run.sh fleet-trace N)');
const warmup = Number(process.env.BENCH_WARMUP ?? 0);
const settle = Number(process.env.BENCH_SETTLE ?? 10);
const seconds = Number(process.env.BENCH_TRACE_SECS ?? 180);
const url = `http://127.0.0.1:${ports[0]}/?perf=true`;
const saved = JSON.stringify({ version: 1, agents: ports.map((p) => `ws://127.0.0.1:${p}/ws`), view: { fleet: true } });
const CATEGORIES = ['toplevel', 'devtools.timeline', 'disabled-by-default-v8.gc', 'blink.user_timing'].join(',');

function probe({ list, hosts }) {
  if (!localStorage.getItem('dockscope.agents')) localStorage.setItem('dockscope.agents', list);
  window.__live = () => document.querySelectorAll('[data-testid="fleet-tile"][data-state="up"]').length === hosts;
}

if (warmup > 0) await new Promise((r) => setTimeout(r, warmup * 1_000));
const b = await launch(probe, { list: saved, hosts: ports.length });
const cdp = await b.page.context().newCDPSession(b.page);
await b.page.goto(url);
await b.page.waitForFunction(() => window.__live(), null, { timeout: 60_000 });
await b.page.waitForTimeout(settle * 1_000);

// Events arrive in chunks and only what the report reads is kept: the whole trace of a few
// minutes is larger than one JS string can hold. Thread names, every GC pause, and the rest of
// the complete events from 1 ms up.
const events = [];
cdp.on('Tracing.dataCollected', ({ value }) => {
  for (const e of value) {
    if (e.ph === 'M' ? e.name === 'thread_name' : e.ph === 'X' && (e.dur >= 1000 || /GC/.test(e.name))) events.push(e);
  }
});
await cdp.send('Tracing.start', { categories: CATEGORIES, transferMode: 'ReportEvents' });
await b.page.waitForTimeout(seconds * 1_000);
const done = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
await cdp.send('Tracing.end');
await done;
await b.close();

const mains = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
  .map((e) => `${e.pid}:${e.tid}`));
const onMain = events.filter((e) => mains.has(`${e.pid}:${e.tid}`) && e.ph === 'X' && e.dur > 0);
const isTask = (e) => e.name === 'ThreadControllerImpl::RunTask' || e.name === 'RunTask';
const tasks = onMain.filter((e) => isTask(e) && e.dur > 50_000).sort((x, y) => x.ts - y.ts);
const t0 = Math.min(...onMain.map((e) => e.ts));
const label = (e) => {
  const d = e.args?.data ?? {};
  const what = d.functionName || d.url || d.type || '';
  return `${e.name}${what ? ` (${String(what).slice(0, 60)})` : ''}`;
};

console.log(`trace: ${seconds} s from ${settle} s after every tile was live; ${onMain.filter(isTask).length} main-thread tasks, ${tasks.length} over 50 ms`);
const totals = new Map();
for (const task of tasks) {
  const inside = onMain.filter((e) => e !== task && !isTask(e) && e.ts >= task.ts && e.ts + e.dur <= task.ts + task.dur);
  const top = inside.sort((x, y) => y.dur - x.dur).slice(0, 5);
  console.log(`+${((task.ts - t0) / 1e6).toFixed(1)} s: ${(task.dur / 1000).toFixed(0)} ms — ${top.map((e) => `${label(e)} ${(e.dur / 1000).toFixed(1)} ms`).join('; ')}`);
  const biggest = top[0] ? top[0].name : 'nothing traced';
  totals.set(biggest, (totals.get(biggest) ?? 0) + 1);
}
console.log(`biggest event of each long task: ${[...totals].map(([k, v]) => `${k} × ${v}`).join(', ') || 'none'}`);
// The garbage collector's pauses on the main thread over the whole trace, by kind.
for (const kind of ['MinorGC', 'MajorGC']) {
  const pauses = onMain.filter((e) => e.name === kind);
  const total = pauses.reduce((sum, e) => sum + e.dur, 0) / 1000;
  const longest = pauses.reduce((max, e) => Math.max(max, e.dur), 0) / 1000;
  console.log(`${kind}: ${pauses.length} pauses, ${total.toFixed(0)} ms in all, longest ${longest.toFixed(1)} ms`);
}
