/**
 * `client.chat.search()`: full-text search over the user's rooms through the SDK, newest first,
 * paged with `before`, limited to a room with `roomId`; refusals arrive as SwitchboardErrors.
 */
import { SnippetMark } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, uniqueName, type TestServer } from '../../server/test/helpers.js';
import { SwitchboardError } from '../src/index.js';
import { closeClients, signedIn } from './support.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.close());
afterEach(closeClients);

describe('SDK: chat.search', () => {
  it('finds the user’s messages newest first, pages with before, and filters by room', async () => {
    const a = await signedIn(t);
    const b = await signedIn(t);
    const shared = await a.chat.createRoom({ name: uniqueName('search'), kind: 'public', memberIds: [b.user?.id ?? ''] });
    const mine = await a.chat.createRoom({ name: uniqueName('private'), kind: 'private' });
    const word = uniqueName('kw').replace(/[^a-z0-9]/g, '');
    const first = await a.chat.send(shared.id, `first ${word}`);
    const second = await a.chat.send(mine.id, `second ${word}`);
    const third = await a.chat.send(shared.id, `third (${word}) "quoted"`);

    const page = await a.chat.search(word, { limit: 2 });
    expect(page.results.map((r) => r.message.id)).toEqual([third.id, second.id]);
    expect(page.hasMore).toBe(true);
    expect(page.results[0]?.snippet).toBe(`third (${SnippetMark.start}${word}${SnippetMark.end}) "quoted"`);
    const rest = await a.chat.search(word, { limit: 2, before: second.id });
    expect(rest).toEqual({ results: [expect.objectContaining({ message: first })], hasMore: false });

    // b is not in the private room: it is neither searched nor can it be named.
    expect((await b.chat.search(`${word} "quoted"`)).results.map((r) => r.message.id)).toEqual([third.id]);
    expect((await b.chat.search(word)).results.map((r) => r.message.id)).toEqual([third.id, first.id]);
    expect((await a.chat.search(word, { roomId: shared.id })).results).toHaveLength(2);
    const refused = await b.chat.search(word, { roomId: mine.id }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(SwitchboardError);
    expect(refused).toMatchObject({ code: 'FORBIDDEN' });
    await expect(a.chat.search('   ')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
