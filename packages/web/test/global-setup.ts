/**
 * Once per test run: a folder the browser test files share their one build of the web app in
 * (build-app.ts), removed when the run ends. Only the folder is made here, so a run without
 * browser tests builds nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    webBuildDir: string;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-web-build-'));
  project.provide('webBuildDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
