// The dashboard served through deploy/nginx/dockscope.conf (real nginx: TLS, basic auth) by a
// real agent behind it: the page at https://…/ adds the agent it came from (its /agent.json
// through nginx), and its stream at /ws through nginx goes live in the browser, under the
// agent's CSP, from the page's own origin (the agent runs with --allowed-origins set to it).
// The shipped file is used with only its host values swapped (each swap must find its text).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, screenshot } from './fixtures/browser.mjs';
import { spawnAgent, freePort } from './fixtures/agents.mjs';
import { DashboardPage } from './fixtures/dashboard.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dockscope-e2e-nginx-'));
let agent;
let nginx;
let context;
let port;

/** The shipped site config with its host values replaced, in a main config kept in `dir`. */
function nginxConfig(agentPort, listenPort, cert, key, htpasswd) {
  let site = fs.readFileSync(path.join(root, 'deploy/nginx/dockscope.conf'), 'utf8');
  for (const [from, to] of [
    ['server 127.0.0.1:8080;', `server 127.0.0.1:${agentPort};`],
    ['listen 443 ssl;', `listen 127.0.0.1:${listenPort} ssl;`],
    ['/etc/ssl/dockscope/fullchain.pem', cert],
    ['/etc/ssl/dockscope/privkey.pem', key],
    ['/etc/nginx/dockscope.htpasswd', htpasswd],
  ]) {
    assert.ok(site.includes(from), `deploy/nginx/dockscope.conf no longer has ${from}`);
    site = site.replaceAll(from, to);
  }
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `${t}_temp_path ${dir}/${t};`)
    .join('\n');
  return `user root;\nmaster_process off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\n` +
    `http {\naccess_log ${dir}/access.log;\n${temp}\n${site}\n}\n`;
}

before(async () => {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
    '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const htpasswd = path.join(dir, 'htpasswd');
  fs.writeFileSync(htpasswd, 'ops:{PLAIN}secret\n');

  port = await freePort();
  const agentPort = await freePort();
  agent = await spawnAgent({
    id: 'e2e-nginx',
    port: agentPort,
    extraArgs: ['--serve-ui', '--synthetic-containers', '4', '--allowed-origins', `https://localhost:${port}`],
  });
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, nginxConfig(agentPort, port, cert, key, htpasswd));
  nginx = spawn('nginx', ['-p', dir, '-c', conf, '-g', 'daemon off;'], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!fs.existsSync(path.join(dir, 'nginx.pid'))) {
    if (Date.now() > deadline) throw new Error(`nginx did not start: ${fs.readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const profile = path.join(dir, 'profile');
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    // The test's self-signed certificate; the password nginx asks for.
    ignoreHTTPSErrors: true,
    httpCredentials: { username: 'ops', password: 'secret' },
  });
});

after(async () => {
  await context?.close();
  nginx?.kill();
  await agent?.kill();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the page served at / through nginx adds its agent and goes live over wss at /ws', async () => {
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(e.violatedDirective));
  });
  const dash = new DashboardPage(page);
  await dash.open(`https://localhost:${port}/`);

  // The page's own stream, found through /agent.json, on the page's origin.
  const url = `wss://localhost:${port}/ws`;
  await dash.waitForState(url, 'live');
  assert.deepEqual(await dash.cardUrls(), [url], 'exactly the serving agent, at its proxied /ws');
  await dash.waitForAgentName(url, 'e2e-nginx');
  await page.waitForFunction(
    (u) => document.querySelector(`[data-testid="agent-card"][data-agent-url="${u}"]`)
      ?.querySelectorAll('[data-testid="container-name"]').length === 4,
    url,
    { timeout: 10_000 },
  );
  await screenshot(page, 'behind-nginx-live');
  assert.deepEqual(await page.evaluate(() => window.__cspViolations), [], 'CSP violations');
  await dash.assertNoPageErrors(errors);

  // The page found its agent through nginx (the agent itself listens on another port, so the
  // live card above can only be the stream through nginx too).
  const log = fs.readFileSync(path.join(dir, 'access.log'), 'utf8');
  assert.match(log, /"GET \/agent\.json HTTP\/[0-9.]+" 200 /, log);
});
