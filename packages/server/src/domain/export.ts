/**
 * The admin export (PROTOCOL §4.3): NDJSON lines `{ type, data }` — users (never a password hash),
 * rooms, memberships, messages — produced page by page as the reader takes them, so memory stays
 * bounded whatever the size of the database. HTTP streams it; the command line writes it to a file.
 */
import type { ExportLine } from '@switchboard/protocol';
import { toAdminUser } from './accounts.js';
import type { ExportRepository } from '../store/export.js';

const PAGE = 500;

/** One table, page after page, each page as one chunk of lines. */
async function* pages<R, K>(read: (after: K, limit: number) => Promise<R[]>, first: K, keyOf: (row: R) => K, toLine: (row: R) => ExportLine) {
  let after = first;
  for (;;) {
    const rows = await read(after, PAGE);
    const last = rows.at(-1);
    if (last === undefined) return;
    yield rows.map((row) => `${JSON.stringify(toLine(row))}\n`).join('');
    if (rows.length < PAGE) return;
    after = keyOf(last);
  }
}

/** Yields the export in chunks of up to one page of lines each. */
export async function* exportData(store: ExportRepository): AsyncGenerator<string> {
  const byId = (row: { id: string }) => row.id;
  yield* pages((a: string, n) => store.users(a, n), '', byId, (row) => ({ type: 'user', data: toAdminUser(row) }));
  yield* pages((a: string, n) => store.rooms(a, n), '', byId, (r) => ({
    type: 'room',
    data: { id: r.id, name: r.name, kind: r.kind, topic: r.topic, createdBy: r.created_by, createdAt: r.created_at, lastSeq: r.last_seq },
  }));
  yield* pages(
    (a: { roomId: string; userId: string }, n) => store.memberships(a, n),
    { roomId: '', userId: '' },
    (m) => ({ roomId: m.room_id, userId: m.user_id }),
    (m) => ({ type: 'membership', data: { roomId: m.room_id, userId: m.user_id, joinedAt: m.joined_at, lastReadSeq: m.last_read_seq } }),
  );
  yield* pages((a: string, n) => store.messages(a, n), '', byId, (m) => ({
    type: 'message',
    data: {
      id: m.id,
      roomId: m.room_id,
      seq: m.seq,
      senderId: m.sender_id,
      text: m.text,
      attachments: JSON.parse(m.attachments) as unknown,
      clientMsgId: m.client_msg_id,
      createdAt: m.created_at,
      editedAt: m.edited_at,
      deleted: m.deleted === 1,
    },
  }));
}
