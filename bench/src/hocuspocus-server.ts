/**
 * The collaborative-documents peer: `@hocuspocus/server` v3 at its defaults, in its own process
 * (started by bench/src/procs.ts), with a small SQLite persistence extension so its documents
 * outlive their connections as Switchboard's do. Hocuspocus ships no SQLite extension in this
 * install, so it is written here, on the same SQLite settings as Switchboard (WAL,
 * synchronous=FULL: every commit fsynced):
 *
 * - `HOCUSPOCUS_STORE=log`: every update is appended in `onChange` (one row, one commit); a load
 *   applies every row — the shape of Switchboard's log without compaction. Hocuspocus runs its hooks
 *   after it relayed the update, so this is as durable per update, but relays before storing.
 * - `HOCUSPOCUS_STORE=snapshot`: Hocuspocus's own pattern (as its database extensions do): the whole
 *   state is written in `onStoreDocument`, debounced (2 s, at most 10 s), and loaded in one piece.
 *
 * Environment: PORT, HOST (127.0.0.1), HOCUSPOCUS_STORE (`log` or `snapshot`), HOCUSPOCUS_DB (SQLite file).
 */
import { Server, type Extension } from '@hocuspocus/server';
import Database from 'better-sqlite3';
import * as Y from 'yjs';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const mode = process.env.HOCUSPOCUS_STORE === 'snapshot' ? 'snapshot' : 'log';
const file = process.env.HOCUSPOCUS_DB;
if (!file) throw new Error('HOCUSPOCUS_DB is required');

const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec('create table if not exists updates (seq integer primary key, name text not null, data blob not null)');
db.exec('create index if not exists updates_name on updates (name, seq)');
db.exec('create table if not exists snapshots (name text primary key, data blob not null)');
const appendUpdate = db.prepare<[string, Buffer]>('insert into updates (name, data) values (?, ?)');
const readUpdates = db.prepare<[string], { data: Buffer }>('select data from updates where name = ? order by seq');
const writeSnapshot = db.prepare<[string, Buffer]>('insert into snapshots (name, data) values (?, ?) on conflict (name) do update set data = excluded.data');
const readSnapshot = db.prepare<[string], { data: Buffer }>('select data from snapshots where name = ?');

const toBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

const persistence: Extension = {
  async onLoadDocument({ documentName, document }) {
    document.transact(() => {
      const snapshot = readSnapshot.get(documentName);
      if (snapshot) Y.applyUpdate(document, snapshot.data);
      for (const { data } of readUpdates.all(documentName)) Y.applyUpdate(document, data);
    });
    return document;
  },
  async onChange({ documentName, update }) {
    if (mode === 'log') appendUpdate.run(documentName, toBuffer(update));
  },
  async onStoreDocument({ documentName, document }) {
    if (mode === 'snapshot') writeSnapshot.run(documentName, toBuffer(Y.encodeStateAsUpdate(document)));
  },
};

const server = new Server({ port, address: host, quiet: true, extensions: [persistence] });
// Any path answers 200 (Hocuspocus's default page), `/readyz` included: the bench waits on it as on the others.
void server.listen();

const stop = () => {
  void server.destroy().finally(() => {
    db.close();
    process.exit(0);
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
