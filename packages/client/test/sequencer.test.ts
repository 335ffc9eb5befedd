import type { Message } from '@switchboard/protocol';
import { describe, expect, it } from 'vitest';
import { Sequencer } from '../src/sequencer.js';

const message = (seq: number, patch: Partial<Message> = {}): Message => ({
  id: `m${seq}`,
  roomId: 'r',
  seq,
  senderId: 'u',
  senderName: 'U',
  text: `text ${seq}`,
  attachments: [],
  clientMsgId: `c${seq}`,
  createdAt: 1,
  editedAt: null,
  deleted: false,
  threadId: null,
  replyCount: 0,
  lastReplyAt: null,
  reactions: [],
  ...patch,
});

function recorder() {
  const delivered: number[] = [];
  const texts: string[] = [];
  const updated: [string, string][] = [];
  const gaps: string[] = [];
  const sequencer = new Sequencer({
    deliver: (m) => {
      delivered.push(m.seq);
      texts.push(m.text);
    },
    update: (m) => updated.push([m.id, m.text]),
    gap: (roomId) => gaps.push(roomId),
  });
  sequencer.track('r', 0);
  return { sequencer, delivered, texts, updated, gaps };
}

describe('Sequencer', () => {
  it('delivers in seq order once, holding what arrives past a gap', () => {
    const { sequencer, delivered, gaps } = recorder();
    for (const seq of [1, 3, 1, 2, 4, 3]) sequencer.accept(message(seq));
    expect(delivered).toEqual([1, 2, 3, 4]);
    expect(gaps).toEqual(['r']);
  });

  it('reports each version of an edit once, however often it is repeated', () => {
    const { sequencer, updated } = recorder();
    sequencer.accept(message(1));
    const edit = message(1, { text: 'edited', editedAt: 10 });
    sequencer.update(edit);
    sequencer.update(edit); // a sync's look-back repeats the live message:updated
    const again = message(1, { text: 'edited again', editedAt: 20 });
    sequencer.update(again);
    const gone = message(1, { text: '', editedAt: 20, deleted: true });
    sequencer.update(gone);
    sequencer.update(gone);
    expect(updated).toEqual([
      ['m1', 'edited'],
      ['m1', 'edited again'],
      ['m1', ''],
    ]);
  });

  it('reports each change of reactions and reply counts once, though no edit came with it', () => {
    const { sequencer, updated } = recorder();
    sequencer.accept(message(1));
    const reacted = message(1, { text: 'reacted', reactions: [{ emoji: '👍', userIds: ['u'] }] });
    const replied = message(1, { text: 'replied', reactions: [{ emoji: '👍', userIds: ['u'] }], replyCount: 1, lastReplyAt: 7 });
    const unreacted = message(1, { text: 'unreacted', replyCount: 1, lastReplyAt: 7 });
    for (const m of [reacted, reacted, replied, replied, unreacted, unreacted]) sequencer.update(m);
    expect(updated.map(([, text]) => text)).toEqual(['reacted', 'replied', 'unreacted']);
  });

  it('folds an edit of a held message into it instead of reporting it', () => {
    const { sequencer, texts, updated } = recorder();
    sequencer.accept(message(2));
    sequencer.update(message(2, { text: 'edited', editedAt: 5 }));
    expect(updated).toEqual([]);
    sequencer.accept(message(1));
    expect(texts).toEqual(['text 1', 'edited']);
  });
});
