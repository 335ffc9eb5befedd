/**
 * The `switchboard` command's administration (PROTOCOL §4.3), run as the real command — the file
 * npm links as `switchboard` — against a server's DATA_DIR (SQLite) or DATABASE_URL (PostgreSQL),
 * while a server on the same data answers over HTTP.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdminUser, ExportLine, Session } from '@switchboard/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgDatabase, http, startServer, uniqueName, type TestServer } from './helpers.js';
import { PROCESS_TEST_TIMEOUT_MS } from './processes.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const serverPackage = JSON.parse(readFileSync(join(root, 'packages/server/package.json'), 'utf8')) as { bin: Record<string, string> };
const command = join(root, 'packages/server', serverPackage.bin.switchboard ?? 'missing');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `switchboard …args` from the repository root with `env` on top of the test's own. */
function switchboard(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [command, ...args], { cwd: root, env: { ...process.env, SCRYPT_COST: '1024', ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const PASSWORD = 'violet-tangerine-41';
const login = (url: string, username: string, password: string) =>
  http<Session>(url, 'POST', '/api/auth/login', { username, password });

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

describe('switchboard command line', () => {
  it('is the package\'s bin, with usage on --help and usage errors as status 2', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    expect(serverPackage.bin.switchboard).toBe('./bin/switchboard.js');
    const help = await switchboard({}, '--help');
    expect(help.code).toBe(0);
    for (const line of ['user create --username U --password P [--admin]', 'user reset-password', 'user role', 'user deactivate', 'export --out FILE']) {
      expect(help.stdout).toContain(line);
    }
    const userHelp = await switchboard({}, 'user', '--help');
    expect(userHelp.code).toBe(0);
    expect(userHelp.stdout).toContain('user create');
    const missing = await switchboard({ DATA_DIR: join(tmpdir(), 'switchboard-cli-never') }, 'user', 'role', '--role', 'admin');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--username is required');
  });

  // A dozen commands, each a process that compiles its TypeScript first: generous on a busy machine.
  it('administers accounts on DATA_DIR (SQLite) while a server runs on it', { timeout: PROCESS_TEST_TIMEOUT_MS * 3 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-cli-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const env = { DATA_DIR: dataDir };
    const adminName = uniqueName('root');
    const created = await switchboard(env, 'user', 'create', '--username', adminName, '--password', PASSWORD, '--admin');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(`Created ${adminName} (admin)`);

    const t: TestServer = await startServer({ dataDir });
    cleanups.unshift(() => t.stop());
    const admin = await login(t.url, adminName, PASSWORD);
    expect(admin.status).toBe(200);
    expect(admin.body.user.role).toBe('admin');

    const name = uniqueName('cli');
    expect((await switchboard(env, 'user', 'create', '--username', name, '--password', PASSWORD)).stdout).toContain(`Created ${name} (user)`);
    const weak = await switchboard(env, 'user', 'create', '--username', uniqueName('weak'), '--password', 'password1');
    expect(weak.code).toBe(1);
    expect(weak.stderr).toContain('too common');
    expect((await switchboard(env, 'user', 'create', '--username', name, '--password', PASSWORD)).stderr).toContain('taken');

    const reset = await switchboard(env, 'user', 'reset-password', '--username', name);
    expect(reset.code).toBe(0);
    const temporary = /: (\S+)\n$/.exec(reset.stdout)?.[1] ?? '';
    expect(temporary.length).toBeGreaterThanOrEqual(12);
    expect((await login(t.url, name, PASSWORD)).status).toBe(401);
    const user = await login(t.url, name, temporary);
    expect(user.status).toBe(200);

    expect((await switchboard(env, 'user', 'role', '--username', name, '--role', 'admin')).stdout).toContain('is now admin');
    // Roles are read at every request: the token signed while a user works as an admin's now.
    expect((await http(t.url, 'GET', '/api/admin/users', undefined, user.body.accessToken)).status).toBe(200);
    expect((await switchboard(env, 'user', 'role', '--username', name, '--role', 'owner')).code).toBe(2);

    const deactivated = await switchboard(env, 'user', 'deactivate', '--username', name);
    expect(deactivated.code).toBe(0);
    expect((await http(t.url, 'GET', '/api/me', undefined, user.body.accessToken)).status).toBe(401);
    expect((await login(t.url, name, temporary)).status).toBe(401);
    const listed = await http<{ users: AdminUser[] }>(t.url, 'GET', `/api/admin/users?query=${name}`, undefined, admin.body.accessToken);
    expect(listed.body.users[0]).toMatchObject({ username: name, role: 'admin', deactivated: true });
    // The last active admin stays one.
    const last = await switchboard(env, 'user', 'deactivate', '--username', adminName);
    expect(last.code).toBe(1);
    expect(last.stderr).toContain('last active admin');
    expect((await switchboard(env, 'user', 'deactivate', '--username', 'nobody-here')).stderr).toContain('not found');

    const file = join(dataDir, 'export.ndjson');
    const exported = await switchboard(env, 'export', '--out', file);
    expect(exported.code).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('scrypt');
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as ExportLine);
    expect(lines.filter((l) => l.type === 'user').map((l) => (l.data as AdminUser).username).sort()).toEqual([adminName, name].sort());
  });

  it('works on DATABASE_URL (PostgreSQL) too', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const database = await createPgDatabase();
    const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-cli-'));
    cleanups.push(async () => {
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const env = { DATA_DIR: dataDir, DATABASE_URL: database.url };
    const first = uniqueName('pg');
    const second = uniqueName('pg');
    expect((await switchboard(env, 'user', 'create', '--username', first, '--password', PASSWORD)).stdout).toContain('(admin)');
    expect((await switchboard(env, 'user', 'create', '--username', second, '--password', PASSWORD)).stdout).toContain('(user)');
    expect((await switchboard(env, 'user', 'role', '--username', second, '--role', 'admin')).code).toBe(0);
    expect((await switchboard(env, 'user', 'role', '--username', first, '--role', 'user')).stdout).toContain('is now user');

    const t = await startServer({ dialect: 'postgres', dataDir, databaseUrl: database.url });
    cleanups.unshift(() => t.stop());
    expect((await login(t.url, second, PASSWORD)).body.user.role).toBe('admin');
    expect((await login(t.url, first, PASSWORD)).body.user.role).toBe('user');
  });
});
