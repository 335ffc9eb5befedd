/**
 * The SDK as people install it: `npm pack` of @switchboard/protocol and @switchboard/client, both
 * tarballs installed with npm into a project outside the repository, and the README's tour and raw
 * socket.io-client example run there, as they stand in README.md, against a real server.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../../server/test/helpers.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../..', import.meta.url));

/** The code block that follows `<!-- tour:<name> … -->` in README.md. */
function readmeBlock(name: string): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const match = new RegExp(`<!-- tour:${name}\\b[^>]*-->\\s*\`\`\`js\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!match?.[1]) throw new Error(`README.md has no "tour:${name}" code block`);
  return match[1];
}

describe('the packed SDK, installed outside the repository', () => {
  let packDir: string;
  let project: string;
  let server: TestServer;

  beforeAll(async () => {
    packDir = mkdtempSync(join(tmpdir(), 'switchboard-pack-'));
    project = mkdtempSync(join(tmpdir(), 'switchboard-sdk-user-'));
    await run('npm', ['pack', '-w', '@switchboard/protocol', '-w', '@switchboard/client', '--pack-destination', packDir], { cwd: repo });
    const tarballs = readdirSync(packDir).filter((f) => f.endsWith('.tgz')).map((f) => join(packDir, f));
    expect(tarballs.map((t) => t.slice(packDir.length + 1)).sort()).toEqual(['switchboard-client-0.1.0.tgz', 'switchboard-protocol-0.1.0.tgz']);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'sdk-user', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs], { cwd: project });
    server = await startServer();
  }, 420_000);

  afterAll(async () => {
    await server?.close();
    for (const dir of [packDir, project]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ships the built JavaScript and its types, not the build state', () => {
    const client = JSON.parse(readFileSync(join(project, 'node_modules/@switchboard/client/package.json'), 'utf8')) as {
      exports: Record<string, Record<string, string>>;
    };
    expect(client.exports['.']).toMatchObject({ types: './dist/index.d.ts', import: './dist/index.js' });
    for (const pkg of ['client', 'protocol']) {
      const files = readdirSync(join(project, 'node_modules/@switchboard', pkg, 'dist'));
      expect(files).toEqual(expect.arrayContaining(['index.js', 'index.d.ts']));
      expect(files).not.toContain('.tsbuildinfo');
    }
    // The client's own dependency on the protocol is the installed tarball, not a second copy.
    expect(readdirSync(join(project, 'node_modules/@switchboard/client'))).not.toContain('node_modules');
  });

  it('runs the README tour as written, ending with close()', async () => {
    const tour = readmeBlock('sdk');
    expect(tour).toMatch(/\.close\(\);\s*$/);
    writeFileSync(join(project, 'tour.mjs'), tour);
    const { stdout } = await run('node', ['tour.mjs'], { cwd: project, env: { ...process.env, SWITCHBOARD_URL: server.url }, timeout: 60_000 });
    expect(stdout.trim().split('\n')).toEqual(['#1 ada: Hello @bob!', 'bob has 1 unread notification', 'ada is typing']);
  }, 90_000);

  it('runs the README raw socket.io-client example as written', async () => {
    writeFileSync(join(project, 'raw.mjs'), readmeBlock('raw'));
    const { stdout } = await run('node', ['raw.mjs'], { cwd: project, env: { ...process.env, SWITCHBOARD_URL: server.url }, timeout: 60_000 });
    const lines = stdout.trim().split('\n');
    expect(lines).toContain('lunch: 1 message(s)');
    expect(lines).toContain('stored as #2');
  }, 90_000);

  it('type-checks the tour against the installed type declarations', async () => {
    // The protocol's types must reach the user through the client's declarations: were they
    // unresolved, `m` would be `any` and the expected error below would not happen.
    const probe = `
bob.chat.on('message', (m) => {
  // @ts-expect-error seq is a number
  const seq: string = m.seq;
  return seq;
});
`;
    writeFileSync(join(project, 'tour.ts'), readmeBlock('sdk') + probe);
    const tsc = join(repo, 'node_modules/typescript/bin/tsc');
    const args = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--lib', 'es2023,dom'];
    // The tour reads process.env: Node's types come from the repository, as a user's @types/node would.
    args.push('--types', 'node', '--typeRoots', join(repo, 'node_modules/@types'), 'tour.ts');
    await expect(run('node', [tsc, ...args], { cwd: project })).resolves.toBeDefined();
  }, 240_000);
});
