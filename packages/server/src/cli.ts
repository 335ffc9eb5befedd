/**
 * The administration commands of `switchboard` (PROTOCOL §4.3): accounts and the export, run on
 * the server's own data (DATA_DIR / DATABASE_URL) with the same services, and so the same rules,
 * as the HTTP API. Whoever can run them on the server's data acts as an admin.
 *
 * A running server learns of a change made here at its next check of each login: new requests and
 * handshakes at once (every verification reads the database), connections already open when
 * their access token next needs renewing (ACCESS_TOKEN_TTL). The server's admin API ends them at once.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { RegisterInput } from '@switchboard/protocol';
import { CONSOLE, type AccountService } from './domain/accounts.js';
import type { AuthService } from './domain/auth.js';
import { EventBus } from './domain/bus.js';
import { exportData } from './domain/export.js';
import { loadConfig, type Config } from './config.js';
import { createRateLimiter } from './scale/rate-limit.js';
import { accountServices } from './server.js';
import { prepareDataDir } from './store/data-dir.js';
import { openDatabase } from './store/db.js';
import { ExportRepository } from './store/export.js';

export const CLI_USAGE = `Administration (on DATA_DIR / DATABASE_URL, as the server would use them):
  switchboard user create --username U --password P [--admin] [--display-name NAME]
  switchboard user reset-password --username U       prints a temporary password
  switchboard user role --username U --role admin|user
  switchboard user deactivate --username U           ends every login of the user
  switchboard export --out FILE                      NDJSON: users, rooms, memberships, messages
Every command also takes --data-dir DIR.`;

const out = (text: string) => process.stdout.write(`${text}\n`);

/** A usage mistake: printed with the usage, exit status 2. */
export class UsageError extends Error {}

function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

async function withServices<T>(config: Config, work: (services: { auth: AuthService; accounts: AccountService; exports: ExportRepository }) => Promise<T>): Promise<T> {
  prepareDataDir(config.DATA_DIR, { sqlite: config.DATABASE_URL === undefined });
  const database = await openDatabase({ dataDir: config.DATA_DIR, databaseUrl: config.DATABASE_URL, poolSize: 2 });
  try {
    const bus = new EventBus((err) => console.error(err));
    // Nobody but the operator is on the other side: no budgets to keep.
    const limiter = createRateLimiter({ enabled: false, perIp: { register: { burst: 1, points: 1, seconds: 1 }, auth: { burst: 1, points: 1, seconds: 1 } } });
    const { auth, accounts } = accountServices(database.db, config, bus, limiter);
    return await work({ auth, accounts, exports: new ExportRepository(database.db) });
  } finally {
    await database.close();
  }
}

/** Runs `user …` or `export`; `argv` starts with the command. */
export async function runCli(argv: string[], env: Record<string, string | undefined>): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      username: { type: 'string' },
      password: { type: 'string' },
      'display-name': { type: 'string' },
      admin: { type: 'boolean' },
      role: { type: 'string' },
      out: { type: 'string' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    out(CLI_USAGE);
    return;
  }
  const config = loadConfig(values['data-dir'] === undefined ? env : { ...env, DATA_DIR: values['data-dir'] });
  const [command, sub] = positionals;

  if (command === 'export') {
    const file = required(values, 'out');
    await withServices(config, async ({ exports }) => {
      const stream = createWriteStream(file, { mode: 0o600 });
      for await (const chunk of exportData(exports)) {
        if (!stream.write(chunk)) await once(stream, 'drain');
      }
      stream.end();
      await finished(stream);
    });
    out(`Exported to ${file}`);
    return;
  }
  if (command !== 'user') throw new UsageError(`unknown command "${command ?? ''}"`);
  const username = required(values, 'username');
  switch (sub) {
    case 'create': {
      const input = RegisterInput.safeParse({ username, password: required(values, 'password'), displayName: values['display-name'] });
      if (!input.success) throw new UsageError(input.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      const user = await withServices(config, async ({ auth, accounts }) => {
        const { row } = await auth.createAccount(input.data, 'cli');
        return values.admin ? accounts.updateUser(CONSOLE, row.id, { role: 'admin' }) : accounts.byUsername(CONSOLE, username);
      });
      out(`Created ${user.username} (${user.role}), id ${user.id}`);
      return;
    }
    case 'reset-password': {
      const password = await withServices(config, async ({ accounts }) => accounts.resetPassword(CONSOLE, (await accounts.byUsername(CONSOLE, username)).id));
      out(`Temporary password for ${username}: ${password}`);
      return;
    }
    case 'role': {
      const role = required(values, 'role');
      if (role !== 'admin' && role !== 'user') throw new UsageError('--role must be admin or user');
      const user = await withServices(config, async ({ accounts }) => accounts.updateUser(CONSOLE, (await accounts.byUsername(CONSOLE, username)).id, { role }));
      out(`${user.username} is now ${user.role}`);
      return;
    }
    case 'deactivate': {
      await withServices(config, async ({ accounts }) => accounts.updateUser(CONSOLE, (await accounts.byUsername(CONSOLE, username)).id, { deactivated: true }));
      out(`${username} is deactivated; every login of theirs has ended`);
      return;
    }
    default:
      throw new UsageError(`unknown command "user ${sub ?? ''}"`);
  }
}
