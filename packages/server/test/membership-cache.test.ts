/**
 * MembershipCache on its own: bounded by evicting the least recently used entry, entries that
 * expire, and `forget` dropping locally and telling the other processes. (Its part in the product
 * — a leave on one node refused on another at once — is in multinode.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { MembershipCache } from '../src/scale/membership-cache.js';
import { eventually } from './helpers.js';

describe('MembershipCache', () => {
  it('keeps at most maxEntries, evicting the least recently used', () => {
    const cache = new MembershipCache<string>({ maxEntries: 2, ttlMs: 60_000 });
    cache.remember('r1', 'u', 'one');
    cache.remember('r2', 'u', 'two');
    expect(cache.get('r1', 'u')).toBe('one'); // r1 is now the most recently used
    cache.remember('r3', 'u', 'three');
    expect(cache.get('r2', 'u')).toBeUndefined();
    expect(cache.get('r1', 'u')).toBe('one');
    expect(cache.get('r3', 'u')).toBe('three');
  });

  it('forgets entries after ttlMs', async () => {
    const cache = new MembershipCache<string>({ maxEntries: 10, ttlMs: 50 });
    cache.remember('r', 'u', 'room');
    expect(cache.get('r', 'u')).toBe('room');
    await eventually(() => cache.get('r', 'u') === undefined, 2000);
  });

  it('drops a membership here and tells the others on forget; a drop from elsewhere only drops', () => {
    const cache = new MembershipCache<string>();
    const told: string[] = [];
    cache.share({ publish: (roomId, userId) => told.push(`${roomId}/${userId}`) });
    cache.remember('r', 'a', 'room');
    cache.remember('r', 'b', 'room');
    cache.forget('r', 'a');
    expect(cache.get('r', 'a')).toBeUndefined();
    expect(told).toEqual(['r/a']);
    cache.drop('r', 'b');
    expect(cache.get('r', 'b')).toBeUndefined();
    expect(told).toEqual(['r/a']);
  });
});
