// The dashboard hosted as plain files: a real nginx (Debian's) serving crates/dashboard/dist/
// with deploy/nginx/static.conf, no agent behind it. The bundle's headers are checked (the
// WebAssembly as application/wasm, gzip copies, caching, nosniff), and the page, which finds no
// agent of its own there, connects straight to the two agents end2end/run.sh started on other
// ports, pasted by address as docs/operations.md says, and shows their live rows. Then the
// file's minimal Content-Security-Policy is swapped for the agent's full one, copied from an
// agent as the docs say: the page still runs, and an injected script does not. The shipped
// file is used with only those values swapped (each swap must find its text).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARTIFACTS, launch, screenshot } from './fixtures/browser.mjs';
import { agentA, agentB, freePort, httpUrl, removeContainer, runContainer, wsUrl } from './fixtures/agents.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dist = path.join(root, 'crates/dashboard/dist');
// nginx's prefix, pid, logs and temp files: under the artifacts dir, fresh per run.
const dir = path.join(ARTIFACTS, `static-nginx-${process.pid}`);
let nginx;
let port;
let browser;
let container;

/** The file's Content-Security-Policy line (the one docs/operations.md says to replace). */
const CSP_LINE = `add_header Content-Security-Policy "frame-ancestors 'none'; base-uri 'none'; object-src 'none'" always;`;

/**
 * The shipped server block with its port and root swapped (and any `extra` swaps), in a main
 * config kept in `dir`.
 */
function nginxConfig(listenPort, dir, extra = []) {
  let site = fs.readFileSync(path.join(root, 'deploy/nginx/static.conf'), 'utf8');
  for (const [from, to] of [
    ['listen 8081;', `listen 127.0.0.1:${listenPort};`],
    ['root /srv/dockscope;', `root ${dist};`],
    ...extra,
  ]) {
    assert.ok(site.includes(from), `deploy/nginx/static.conf no longer has ${from}`);
    site = site.replaceAll(from, to);
  }
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `${t}_temp_path ${dir}/${t};`)
    .join('\n');
  // As Debian's /etc/nginx/nginx.conf has it: the stock MIME types, then the site.
  return `user root;\nmaster_process off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\n` +
    `http {\ninclude /etc/nginx/mime.types;\ndefault_type application/octet-stream;\n` +
    `access_log ${dir}/access.log;\n${temp}\n${site}\n}\n`;
}

/** Runs nginx with `conf` in `dir` (prefix, pid, logs, temp files); resolves once it listens. */
async function startNginx(dir, conf) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'nginx.conf');
  fs.writeFileSync(file, conf);
  const child = spawn('nginx', ['-p', dir, '-c', file, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const deadline = Date.now() + 10_000;
  while (!fs.existsSync(path.join(dir, 'nginx.pid'))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const log = path.join(dir, 'error.log');
      throw new Error(`nginx did not start: ${stderr} ${fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return child;
}

before(async () => {
  assert.ok(fs.existsSync(path.join(dist, 'index.html')), `no bundle in ${dist} (run scripts/build.sh)`);
  port = await freePort();
  nginx = await startNginx(dir, nginxConfig(port, dir));
  container = runContainer('static-sleeper', { command: ['sleep', '100000'] });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  nginx?.kill();
  if (container) removeContainer(container);
  fs.rmSync(dir, { recursive: true, force: true });
});

const site = (p) => `http://127.0.0.1:${port}${p}`;

/** The file names index.html loads, by what they are. */
function bundleNames() {
  const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');
  const find = (re) => {
    const m = html.match(re);
    assert.ok(m, `index.html has no ${re}`);
    return m[1];
  };
  return {
    wasm: find(/module_or_path: '\/([^']+_bg\.wasm)'/),
    glue: find(/from '\/(dockscope-dashboard-[^']+\.js)'/),
    css: find(/href="\/([^"]+\.css)"/),
  };
}

test('nginx serves the bundle with sane headers: application/wasm, gzip, caching, nosniff', async () => {
  const { wasm, glue, css } = bundleNames();

  const index = await fetch(site('/'));
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /^text\/html/);
  assert.equal(index.headers.get('cache-control'), 'no-cache', 'index.html names this build: revalidated');
  assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
  assert.match(index.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  assert.equal(await index.text(), fs.readFileSync(path.join(dist, 'index.html'), 'utf8'));

  // The dashboard's WebAssembly, gzipped on the wire (scripts/build.sh's .gz copy), byte for
  // byte the built file once decoded (fetch decodes it).
  const module = await fetch(site(`/${wasm}`), { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(module.status, 200);
  assert.equal(module.headers.get('content-type'), 'application/wasm');
  assert.equal(module.headers.get('content-encoding'), 'gzip');
  assert.match(module.headers.get('vary') ?? '', /accept-encoding/i);
  assert.equal(module.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.equal(module.headers.get('x-content-type-options'), 'nosniff');
  assert.ok(Buffer.from(await module.arrayBuffer()).equals(fs.readFileSync(path.join(dist, wasm))), `${wasm} differs`);

  // The worker's module has no hash in its name: application/wasm, revalidated.
  const worker = await fetch(site('/socket-worker_bg.wasm'));
  assert.equal(worker.headers.get('content-type'), 'application/wasm');
  assert.equal(worker.headers.get('cache-control'), 'no-cache');

  const js = await fetch(site(`/${glue}`));
  assert.match(js.headers.get('content-type'), /^application\/javascript/);
  assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  const style = await fetch(site(`/${css}`));
  assert.match(style.headers.get('content-type'), /^text\/css/);

  // No agent behind it: no /agent.json, an unknown path is a 404 (not the page), no writes.
  assert.equal((await fetch(site('/agent.json'))).status, 404);
  assert.equal((await fetch(site('/ws'))).status, 404);
  assert.equal((await fetch(site('/nothing-here.js'))).status, 404);
  assert.equal((await fetch(site('/'), { method: 'POST', body: 'x' })).status, 403);
});

test('the page from nginx adds no agent by itself, then goes live with agents pasted by address', async () => {
  const [a, b] = [agentA(), agentB()];
  const page = browser.page;
  const dash = new DashboardPage(page);
  const wasmResponse = page.waitForResponse((r) => r.url().endsWith('_bg.wasm') && !r.url().includes('socket-worker'));
  await dash.open(site('/'));
  assert.equal((await wasmResponse).headers()['content-type'], 'application/wasm');

  // Nothing to discover here (its /agent.json is a 404): the empty state, no card.
  await page.getByTestId('no-agents').waitFor();
  assert.equal(await dash.cards().count(), 0);

  // Both address forms the docs give, each agent elsewhere (other ports, not this origin).
  await dash.addAgent(`127.0.0.1:${a.port}`);
  await dash.addAgent(`ws://127.0.0.1:${b.port}`);
  assert.deepEqual(await dash.cardUrls(), [wsUrl(a.port), wsUrl(b.port)]);
  for (const agent of [a, b]) {
    await dash.waitForState(wsUrl(agent.port), 'live');
    await dash.waitForAgentName(wsUrl(agent.port), agent.id);
  }
  await dash.filter(container);
  for (const agent of [a, b]) {
    await page.waitForFunction(
      ([url, name]) => [...document.querySelectorAll(`[data-testid="agent-card"][data-agent-url="${url}"] [data-testid="container-name"]`)]
        .some((c) => c.textContent === name),
      [wsUrl(agent.port), container],
      { timeout: 15_000 },
    );
    assert.deepEqual(await dash.rowNames(wsUrl(agent.port)), [container]);
  }
  // Live means updating: the last-update line stays fresh over a few batches.
  await page.waitForTimeout(3_000);
  for (const agent of [a, b]) {
    assert.equal(await dash.state(wsUrl(agent.port)).textContent(), 'live');
    assert.equal(await dash.card(wsUrl(agent.port)).getByTestId('last-update').textContent(), 'just now');
  }
  await screenshot(page, 'static-hosting-live');
  await dash.assertNoPageErrors(browser.errors);

  // Every file came from nginx, and the page asked it for its own agent once.
  const log = fs.readFileSync(path.join(dir, 'access.log'), 'utf8');
  assert.match(log, /"GET \/agent\.json HTTP\/[0-9.]+" 404 /, log);
  assert.match(log, /"GET \/socket-worker_loader\.js HTTP\/[0-9.]+" 200 /, log);
});

test("with the agent's full Content-Security-Policy copied in, as the docs say, the page runs and connects", async () => {
  const a = agentA();
  // `curl -sI http://127.0.0.1:8080/ | grep -i content-security-policy` on an agent built
  // from this bundle (run.sh's e2e-a serves it).
  const policy = (await fetch(httpUrl(a.port))).headers.get('content-security-policy');
  assert.match(policy ?? '', /script-src 'self' 'wasm-unsafe-eval' 'sha256-/, policy);
  const strictDir = `${dir}-csp`;
  const strictPort = await freePort();
  const fileText = fs.readFileSync(path.join(root, 'deploy/nginx/static.conf'), 'utf8');
  assert.ok(fileText.includes(CSP_LINE), `deploy/nginx/static.conf no longer has ${CSP_LINE}`);
  const strict = await startNginx(strictDir, nginxConfig(strictPort, strictDir, [
    [CSP_LINE, `add_header Content-Security-Policy "${policy}" always;`],
  ]));
  // A new tab of the same profile; a new origin (port), so an empty saved list.
  const page = await browser.context.newPage();
  try {
    const errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.addInitScript(() => {
      window.__cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
      });
    });
    const documentResponse = page.waitForResponse((r) => r.url() === `http://127.0.0.1:${strictPort}/`);
    const dash = new DashboardPage(page);
    await dash.open(`http://127.0.0.1:${strictPort}/`);
    assert.equal((await documentResponse).headers()['content-security-policy'], policy);
    await dash.addAgent(`127.0.0.1:${a.port}`);
    await dash.waitForState(wsUrl(a.port), 'live');
    await dash.waitForAgentName(wsUrl(a.port), a.id);
    assert.deepEqual(await page.evaluate(() => window.__cspViolations), [], 'CSP violations');
    assert.deepEqual(errors, [], 'page errors');
    // In force: an injected inline script does not run.
    const ran = await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__injected = true';
      document.head.append(s);
      return window.__injected === true;
    });
    assert.equal(ran, false, 'an injected inline script ran under the copied policy');
  } finally {
    await page.close();
    strict.kill();
    fs.rmSync(strictDir, { recursive: true, force: true });
  }
});
