/**
 * SDK room management (PROTOCOL §4.3): `updateRoom`, `archiveRoom`, `removeMember` and `muteRoom`
 * against a real server — the client's own room list follows its calls, and the other members'
 * clients follow `room:updated` (`roomUpdated`) and removals (`roomRemoved`); refusals arrive as
 * SwitchboardErrors with the protocol's codes.
 */
import type { RoomWithReadState } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SwitchboardError } from '../src/errors.js';
import { eventually, startServer, uniqueName, type TestServer } from '../../server/test/helpers.js';
import { closeClients, signedIn } from './support.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.close());
afterEach(closeClients);

const codeOf = (promise: Promise<unknown>) => promise.then(() => 'ok', (err: unknown) => (err instanceof SwitchboardError ? err.code : 'other'));

describe('SDK: room management', () => {
  it('updates and archives a room; other members’ room lists follow room:updated', async () => {
    const owner = await signedIn(t);
    const member = await signedIn(t);
    const room = await owner.chat.createRoom({ name: uniqueName('plans'), kind: 'public' });
    await member.chat.joinRoom(room.id);
    const heard: RoomWithReadState[] = [];
    member.chat.on('roomUpdated', (r) => heard.push(r));

    const name = uniqueName('renamed');
    const updated = await owner.chat.updateRoom(room.id, { name, topic: 'Roadmap' });
    expect(updated).toMatchObject({ id: room.id, name, topic: 'Roadmap', archived: false });
    expect(owner.chat.room(room.id)).toMatchObject({ name, topic: 'Roadmap' });
    await eventually(() => member.chat.room(room.id)?.name === name, 5000, 'the rename on the other client');
    expect(heard.at(-1)).toMatchObject({ id: room.id, name, topic: 'Roadmap', muted: false });

    await owner.chat.archiveRoom(room.id, true);
    await eventually(() => member.chat.room(room.id)?.archived === true, 5000, 'the archive on the other client');
    expect(await codeOf(member.chat.send(room.id, 'anyone?'))).toBe('FORBIDDEN');
    expect(await codeOf(member.chat.archiveRoom(room.id, false))).toBe('FORBIDDEN');
    expect(await codeOf(member.chat.updateRoom(room.id, { topic: 'mine' }))).toBe('FORBIDDEN');
    await owner.chat.archiveRoom(room.id, false);
    await eventually(() => member.chat.room(room.id)?.archived === false, 5000, 'the unarchive on the other client');
    expect((await member.chat.send(room.id, 'back')).text).toBe('back');
  });

  it('mutes a room for the caller only, and removes a member, whose client drops the room', async () => {
    const owner = await signedIn(t);
    const member = await signedIn(t);
    const room = await owner.chat.createRoom({ name: uniqueName('team'), kind: 'private', memberIds: [member.user?.id ?? ''] });
    await eventually(() => member.chat.room(room.id) !== undefined, 5000, 'the invitation');

    await member.chat.muteRoom(room.id, true);
    expect(member.chat.room(room.id)?.muted).toBe(true);
    expect((await member.chat.listRooms()).find((r) => r.id === room.id)?.muted).toBe(true);
    expect((await owner.chat.listRooms()).find((r) => r.id === room.id)?.muted).toBe(false);

    const removed = new Promise<string>((resolve) => member.chat.on('roomRemoved', resolve));
    await owner.chat.removeMember(room.id, member.user?.id ?? '');
    expect(await removed).toBe(room.id);
    expect(member.chat.room(room.id)).toBeUndefined();
    expect(await codeOf(member.chat.muteRoom(room.id, false))).toBe('FORBIDDEN');
  });
});
