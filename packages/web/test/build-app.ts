/**
 * The web app built as it ships (production mode), for the browser tests. A run builds it once:
 * the first test file that asks builds it into the run's shared folder (global-setup.ts) while the
 * others (in other worker processes) wait for it, and each gets its own copy to serve and remove.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { inject } from 'vitest';

const BUILD_TIMEOUT_MS = 120_000;

async function buildInto(outDir: string): Promise<void> {
  // The test runner sets NODE_ENV=test; the app is built as it ships.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({
      configFile: fileURLToPath(new URL('../vite.config.ts', import.meta.url)),
      build: { outDir, emptyOutDir: true },
      logLevel: 'warn',
    });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
}

/** Resolves once the run's build is there (or rejects with the builder's error). */
async function sharedBuild(shared: string): Promise<string> {
  const app = join(shared, 'app');
  const done = join(shared, 'done');
  const failed = join(shared, 'failed');
  try {
    mkdirSync(join(shared, 'building')); // atomic: one test file builds
  } catch {
    const deadline = Date.now() + BUILD_TIMEOUT_MS;
    while (!existsSync(done)) {
      if (existsSync(failed)) throw new Error(`the web app's build failed: ${readFileSync(failed, 'utf8')}`);
      if (Date.now() > deadline) throw new Error('timed out waiting for the web app to be built');
      await new Promise((r) => setTimeout(r, 100));
    }
    return app;
  }
  try {
    await buildInto(app);
  } catch (err) {
    writeFileSync(failed, String(err));
    throw err;
  }
  writeFileSync(done, '');
  return app;
}

/** The built app in a folder of the caller's own (to serve as WEB_DIR; the caller removes it). */
export async function buildWebApp(): Promise<string> {
  const app = await sharedBuild(inject('webBuildDir'));
  const webDir = mkdtempSync(join(tmpdir(), 'switchboard-web-'));
  cpSync(app, webDir, { recursive: true });
  return webDir;
}
