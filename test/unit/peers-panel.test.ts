/**
 * The peers panel's connection types: a peer's candidate pair is asked for again every few
 * renders, so the badge follows ICE when it switches pairs; the last answer shows meanwhile.
 */
import { describe, expect, it } from 'vitest';
import { type ConnectionType, ConnectionTypes, PAIR_REREAD_RENDERS } from '../../web-client/src/panels/peers.js';
import { nextMacrotask } from '../helpers/until.js';

const direct: ConnectionType = { label: 'srflx', detail: 'a <-> b', badge: 'direct-nat' };
const relayed: ConnectionType = { label: 'relay', detail: 'a <-> turn', badge: 'relayed' };
const PEER = 'ab'.repeat(20);
const live = new Set([PEER]);

describe('ConnectionTypes', () => {
  it('asks again after PAIR_REREAD_RENDERS renders and shows the pair ICE switched to', async () => {
    let answer: ConnectionType = direct;
    let asked = 0;
    const types = new ConnectionTypes(async () => {
      asked++;
      return answer;
    });
    types.tick(live);
    expect(types.get(PEER).label).toBe('…');
    await nextMacrotask();
    expect(types.get(PEER)).toEqual(direct);
    answer = relayed;
    for (let i = 1; i < PAIR_REREAD_RENDERS; i++) {
      types.tick(live);
      expect(types.get(PEER)).toEqual(direct);
    }
    expect(asked).toBe(1);
    types.tick(live);
    expect(types.get(PEER)).toEqual(direct); // the last answer shows until the new one arrives
    expect(asked).toBe(2);
    await nextMacrotask();
    expect(types.get(PEER)).toEqual(relayed);
    expect(types.known(PEER)).toEqual(relayed);
  });

  it('forgets a peer that left, and ignores an answer for it that comes after', async () => {
    const types = new ConnectionTypes(async () => relayed);
    types.tick(live);
    types.get(PEER);
    types.tick(new Set());
    await nextMacrotask();
    expect(types.known(PEER)).toBeUndefined();
  });
});
