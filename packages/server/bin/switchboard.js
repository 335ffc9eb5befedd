#!/usr/bin/env node
// The `switchboard` command (packages/server/src/main.ts). In a checkout with its dev tools
// installed it runs the TypeScript source through tsx, so `npx switchboard` works right after
// `npm install`, before any build and never on a stale one; elsewhere, the build in dist/.
import { spawn } from 'node:child_process';
import process from 'node:process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('../src/main.ts', import.meta.url));
let tsx;
try {
  tsx = import.meta.resolve('tsx');
} catch {
  tsx = undefined;
}

if (tsx === undefined || !existsSync(source)) {
  await import('../dist/main.js');
} else {
  const child = spawn(process.execPath, ['--conditions=source', '--import', tsx, source, ...process.argv.slice(2)], { stdio: 'inherit' });
  // A signal sent to this process alone (not its group) still reaches the server.
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
