// The page served by an agent (--serve-ui) adds that agent itself, goes live and lists the
// engine's real containers sorted by CPU, busiest first — under the agent's
// Content-Security-Policy, which must not block anything the page does (no
// `securitypolicyviolation`, no console error) while still blocking an injected inline script.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot } from './fixtures/browser.mjs';
import { agentA, httpUrl, wsUrl, runContainer, removeContainer } from './fixtures/agents.mjs';
import { DashboardPage, percent } from './fixtures/dashboard.mjs';

let browser;
const containers = [];

before(async () => {
  // A busy loop held to a fifth of a core, and an idle sleeper.
  containers.push(runContainer('busy', { cpus: 0.2, command: ['sh', '-c', 'while :; do :; done'] }));
  containers.push(runContainer('idle', { command: ['sleep', '100000'] }));
  browser = await launch();
});

after(async () => {
  await browser?.close();
  containers.forEach(removeContainer);
});

test('served page adds its own agent, goes live and sorts real containers by CPU', async () => {
  const a = agentA();
  const page = browser.page;
  // Violations as the page sees them (the init script runs before any page script, outside
  // the page's policy), and console errors (Chromium also logs each refusal there).
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
  const consoleErrors = [];
  page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });
  const documentResponse = page.waitForResponse((r) => r.url() === httpUrl(a.port));
  const dash = new DashboardPage(page);
  await dash.open(httpUrl(a.port));

  // The HTML response carries the policy and nosniff.
  const headers = (await documentResponse).headers();
  const csp = headers['content-security-policy'] ?? '';
  assert.equal(headers['x-content-type-options'], 'nosniff');
  for (const directive of ["script-src 'self'", "frame-ancestors 'none'", 'connect-src ', "object-src 'none'"]) {
    assert.ok(csp.includes(directive), `${directive} in CSP ${JSON.stringify(csp)}`);
  }
  const scriptSrc = csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src '));
  assert.ok(!scriptSrc.includes("'unsafe-eval'"), scriptSrc);
  assert.ok(!scriptSrc.includes("'unsafe-inline'"), scriptSrc);
  // Style sheets only from the bundle; ECharts needs style attributes (style-src-attr).
  const styleSrc = csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('style-src '));
  assert.equal(styleSrc, "style-src 'self'", styleSrc);
  const connectSrc = csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('connect-src '));
  assert.deepEqual(connectSrc.split(/\s+/).slice(1).sort(), ["'self'", 'ws:', 'wss:'], connectSrc);

  await dash.waitForState(wsUrl(a.port), 'live');
  assert.deepEqual(await dash.cardUrls(), [wsUrl(a.port)], 'exactly the serving agent');
  await dash.waitForAgentName(wsUrl(a.port), a.id);

  // Narrowed to this test's containers (the engine may run others), the busy one is first
  // once CPU has two readings.
  await dash.filter('ds-e2e-');
  await browser.page.waitForFunction(
    (url) => {
      const card = document.querySelector(`[data-testid="agent-card"][data-agent-url="${url}"]`);
      const names = [...card.querySelectorAll('[data-testid="container-name"]')].map((c) => c.textContent);
      const cpu = card.querySelector('[data-testid="container-cpu"]')?.textContent ?? '';
      return names.length === 2 && names[0] === 'ds-e2e-busy' && names[1] === 'ds-e2e-idle' && Number.parseFloat(cpu) >= 5;
    },
    wsUrl(a.port),
    { timeout: 20_000 },
  );
  const busyCpu = percent((await dash.rowCpus(wsUrl(a.port)))[0]);
  assert.ok(busyCpu > 5 && busyCpu < 40, `busy container under --cpus 0.2 shows ${busyCpu} %`);

  // Unfiltered, the whole table is in descending CPU order (unknown figures last).
  await dash.filter('');
  await browser.page.waitForTimeout(500);
  const cpus = (await dash.rowCpus(wsUrl(a.port))).map(percent);
  const known = cpus.filter((v) => !Number.isNaN(v));
  assert.ok(cpus.length >= 2);
  assert.deepEqual(known, [...known].sort((x, y) => y - x), `CPU column not descending: ${cpus}`);

  // Card facts come from agent_status.
  const card = dash.card(wsUrl(a.port));
  assert.match(await card.getByTestId('engine-state').textContent(), /^reachable/);
  assert.notEqual(await card.getByTestId('agent-version').textContent(), 'unknown');
  assert.equal(await card.getByTestId('synthetic-badge').count(), 0, 'a real agent is not synthetic');
  await screenshot(browser.page, 'serve-ui-live-sorted');
  await dash.assertNoPageErrors(browser.errors);

  // Live, sorted, charted: and the policy refused nothing on the way.
  assert.deepEqual(await page.evaluate(() => window.__cspViolations), [], 'CSP violations');
  assert.deepEqual(consoleErrors, [], 'console errors');

  // The policy is in force: a script injected into the page does not run, and is reported.
  const ran = await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__injected = true';
    document.head.append(s);
    return window.__injected === true;
  });
  assert.equal(ran, false, 'an injected inline script ran');
  await page.waitForFunction(() => window.__cspViolations.some((v) => v.startsWith('script-src')), null, { timeout: 5_000 });
});
