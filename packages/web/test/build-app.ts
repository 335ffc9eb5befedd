/** The web app built as it ships (production mode) into a temporary folder, for the browser tests. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

/** Builds the app and returns its folder (to serve as WEB_DIR; the caller removes it). */
export async function buildWebApp(): Promise<string> {
  const webDir = mkdtempSync(join(tmpdir(), 'switchboard-web-'));
  // The test runner sets NODE_ENV=test; the app is built as it ships.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({
      configFile: fileURLToPath(new URL('../vite.config.ts', import.meta.url)),
      build: { outDir: webDir, emptyOutDir: true },
      logLevel: 'warn',
    });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
  return webDir;
}
