// Acceptance of the one-command demo: `scripts/demo.sh` (on a free port, under a project name of
// its own) builds what is missing and brings up deploy/compose/docker-compose.demo.yml with
// Debian's docker-compose; the dashboard the composed agent serves then shows the demo
// workload live with figures, and `scripts/demo.sh down` removes every container it started.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { launch, screenshot } from './fixtures/browser.mjs';
import { freePort, docker } from './fixtures/agents.mjs';
import { DashboardPage, percent } from './fixtures/dashboard.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);
const project = `ds-e2e-demo-${process.pid}`;
let port;
let env;
let browser;

/** Runs scripts/demo.sh with this spec's port and project; resolves to its stdout and stderr. */
async function demo(...args) {
  // A cold checkout builds the dashboard and the static agent first: allow for it.
  return run(path.join(root, 'scripts/demo.sh'), args, { env, timeout: 30 * 60_000, maxBuffer: 64 << 20 });
}

/** Containers of this spec's compose project, running or not. */
const projectContainers = () =>
  docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`).split('\n').filter(Boolean);

before(async () => {
  port = await freePort();
  env = { ...process.env, DOCKSCOPE_DEMO_PORT: String(port), DOCKSCOPE_DEMO_PROJECT: project };
  browser = await launch();
});

after(async () => {
  await browser?.close();
  // Even when the test failed half-way.
  if (projectContainers().length > 0) await demo('down').catch(() => {});
});

test('scripts/demo.sh serves a dashboard showing the demo workload live, and down removes it', async () => {
  const started = Date.now();
  const { stdout } = await demo();
  const upSecs = (Date.now() - started) / 1000;
  assert.match(stdout, new RegExp(`open http://127\\.0\\.0\\.1:${port}/`), stdout);
  assert.match(stdout, new RegExp(`DOCKSCOPE_DEMO_PROJECT=${project} scripts/demo\\.sh down`), stdout);

  const page = browser.page;
  const dash = new DashboardPage(page);
  const ws = `ws://127.0.0.1:${port}/ws`;
  await dash.open(`http://127.0.0.1:${port}/`);
  await dash.waitForState(ws, 'live');
  await dash.waitForAgentName(ws, 'demo');

  // Every demo container, each with CPU, memory and uptime figures (a CPU figure needs two
  // samples; the restarter may be between runs for a moment).
  const names = ['client', 'cruncher', 'dockscope-agent', 'flapping-health', 'restarter', 'web']
    .map((service) => `${project}_${service}_1`);
  await dash.filter(project);
  await page.waitForFunction(
    ([url, want]) => {
      const card = document.querySelector(`[data-testid="agent-card"][data-agent-url="${url}"]`);
      const rows = [...(card?.querySelectorAll('[data-testid="container-row"]') ?? [])];
      const shown = rows.map((r) => r.querySelector('[data-testid="container-name"]').textContent.trim());
      const figures = rows.every((r) => ['container-cpu', 'container-mem', 'container-uptime']
        .every((id) => /\d/.test(r.querySelector(`[data-testid="${id}"]`).textContent)));
      return want.every((n) => shown.includes(n)) && shown.length === want.length && figures;
    },
    [ws, names],
    { timeout: 30_000 },
  );

  const row = async (service) => {
    const all = await dash.rowNames(ws);
    const i = all.indexOf(`${project}_${service}_1`);
    return {
      cpu: percent((await dash.column(ws, 'container-cpu'))[i]),
      mem: (await dash.column(ws, 'container-mem'))[i],
    };
  };
  // The cruncher: a busy loop under cpus: 0.2, 32 MiB in /dev/shm under its 96 MiB limit.
  const cruncher = await row('cruncher');
  assert.ok(cruncher.cpu > 10 && cruncher.cpu < 30, `cruncher at ${cruncher.cpu} % (cpus: 0.2)`);
  assert.match(cruncher.mem, /^3\d\.\d MiB\s*\/\s*96\.0 MiB$/, `cruncher memory ${cruncher.mem}`);
  // The composed agent lists itself under its 64 MiB.
  assert.match((await row('dockscope-agent')).mem, /\/\s*64\.0 MiB$/);

  // Live: the figures keep changing, batch after batch.
  const before = await dash.column(ws, 'container-uptime');
  await page.waitForFunction(
    ([url, old]) => {
      const card = document.querySelector(`[data-testid="agent-card"][data-agent-url="${url}"]`);
      const now = [...card.querySelectorAll('[data-testid="container-uptime"]')].map((c) => c.textContent.trim());
      return now.join() !== old.join();
    },
    [ws, before],
    { timeout: 10_000 },
  );
  await screenshot(page, 'compose-demo');
  await dash.assertNoPageErrors(browser.errors);

  // The image's HEALTHCHECK (dockscope-agent healthcheck) reports the agent healthy.
  const agentContainer = `${project}_dockscope-agent_1`;
  const deadline = Date.now() + 40_000;
  let health;
  while ((health = docker('inspect', '-f', '{{.State.Health.Status}}', agentContainer)) !== 'healthy' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(health, 'healthy');

  const { stderr } = await demo('down');
  assert.match(stderr, /stopped/);
  assert.deepEqual(projectContainers(), [], 'scripts/demo.sh down left containers behind');
  console.log(`scripts/demo.sh up took ${upSecs.toFixed(1)} s`);
});
