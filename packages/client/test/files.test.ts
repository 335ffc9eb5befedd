/**
 * `client.files` against a real server, on Node.js (the `fetch` path: no upload progress events,
 * so `onProgress` is called once, at the end): upload, errors with protocol codes, abort, signed
 * URLs and their cache, and sending a message with the uploaded file attached.
 */
import type { Session } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SwitchboardError } from '@switchboard/client';
import { register, startServer, uniqueName, type TestServer } from '../../server/test/helpers.js';
import { client, closeClients, messagesOf, signedIn } from './support.js';

/** The limit the test server runs with: MAX_UPLOAD_MB=0.05. */
const MAX_BYTES = Math.floor(0.05 * 1024 * 1024);

let t: TestServer;
beforeAll(async () => {
  t = await startServer({ MAX_UPLOAD_MB: 0.05 });
});
afterAll(() => t.close());
afterEach(closeClients);

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err,
  );

describe('SDK files', () => {
  it('uploads with progress, hands out a signed URL (cached), and sends a message with the file attached', async () => {
    const a = await signedIn(t);
    const b = await signedIn(t);
    const room = await a.chat.createRoom({ name: uniqueName('files'), kind: 'public' });
    await b.chat.joinRoom(room.id);
    const received = messagesOf(b, room.id);

    const bytes = new TextEncoder().encode('minutes of the meeting\n'.repeat(100));
    const progress: [number, number][] = [];
    const file = await a.files.upload(room.id, new File([bytes], 'minutes.txt'), {
      onProgress: (loaded, total) => progress.push([loaded, total]),
    });
    expect(file).toMatchObject({ roomId: room.id, name: 'minutes.txt', size: bytes.length, mime: 'text/plain; charset=utf-8' });
    expect(progress).toEqual([[bytes.length, bytes.length]]);

    const signed = await a.files.url(file.id);
    expect(signed.url.startsWith(`${t.url}/api/files/${file.id}?token=`)).toBe(true);
    expect(signed.expiresAt).toBeGreaterThan(Date.now());
    expect(await a.files.url(file.id)).toEqual(signed);
    const res = await fetch(signed.url);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);

    // A Blob has no name of its own: `name` gives it one.
    const named = await a.files.upload(room.id, new Blob(['second']), { name: 'second.txt' });
    expect(named.name).toBe('second.txt');

    const message = await a.chat.send(room.id, 'the minutes', { attachmentIds: [file.id, named.id] });
    const attachments = [
      { id: file.id, name: 'minutes.txt', size: bytes.length, mime: 'text/plain; charset=utf-8' },
      { id: named.id, name: 'second.txt', size: 6, mime: 'text/plain; charset=utf-8' },
    ];
    expect(message.attachments).toEqual(attachments);
    await expect.poll(() => received.map((m) => m.attachments)).toEqual([attachments]);
    // A message of files alone needs no text.
    const onlyFile = await a.files.upload(room.id, new Blob([new Uint8Array([1, 2, 3])]));
    expect(onlyFile.name).toBe('file');
    expect((await a.chat.send(room.id, '', { attachmentIds: [onlyFile.id] })).attachments).toHaveLength(1);
  });

  it('fails with the protocol codes: not a member, too large, unknown file; and rejects with the reason when aborted', async () => {
    const a = await signedIn(t);
    const outsider = await signedIn(t);
    const room = await a.chat.createRoom({ name: uniqueName('closed'), kind: 'private' });

    const forbidden = await failure(outsider.files.upload(room.id, new Blob(['x'])));
    expect(forbidden).toBeInstanceOf(SwitchboardError);
    expect(forbidden).toMatchObject({ code: 'FORBIDDEN', local: false });
    expect(await failure(a.files.upload(room.id, new Blob([new Uint8Array(MAX_BYTES + 1)])))).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    expect(await failure(a.files.url('no-such-file'))).toMatchObject({ code: 'NOT_FOUND' });

    const file = await a.files.upload(room.id, new Blob(['private']));
    expect(await failure(outsider.files.url(file.id))).toMatchObject({ code: 'FORBIDDEN' });

    const abort = new AbortController();
    const reason = new Error('changed my mind');
    abort.abort(reason);
    expect(await failure(a.files.upload(room.id, new Blob(['late']), { signal: abort.signal }))).toBe(reason);
  });

  it('renews a refused access token and sends the upload again', async () => {
    const session: Session = await register(t.url);
    const owner = await signedIn(t);
    const room = await owner.chat.createRoom({ name: uniqueName('renew'), kind: 'private', memberIds: [session.user.id] });
    // A stored Session whose access token the server refuses; its refresh token still works. The
    // upload starts at once, with that token, racing the connection's own renewal: either way it
    // is renewed once and the upload goes through.
    const stale = client({ url: t.url, session: { ...session, accessToken: `${session.accessToken}x` } });
    const sessions: Session[] = [];
    stale.on('session', (s) => sessions.push(s));
    const file = await stale.files.upload(room.id, new Blob(['after renewal']));
    expect(file.size).toBe(13);
    expect(sessions).toHaveLength(1);
  });
});
