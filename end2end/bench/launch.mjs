// The browser both benchmarks measure: headless Debian chromium with the suite's flags, a fresh
// profile per launch (removed on close), a 1600 × 1000 viewport, and the benchmark's probe
// installed before any page script runs.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHROMIUM_ARGS } from '../tests/fixtures/browser.mjs';

/** Launches chromium with `probe(...probeArgs)` as an init script; `close()` also drops the profile. */
export async function launch(probe, ...probeArgs) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dockscope-bench-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1600, height: 1000 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.addInitScript(probe, ...probeArgs);
  return { page, close: async () => { await context.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}
