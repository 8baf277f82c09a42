/**
 * IceRefresher on a FakeClock: the one TURN renewal loop of the page and the CLI. It asks
 * again after refreshDelayMs of the latest lifetime, always for the same peer label, keeps
 * the servers in use when a request fails or brings no servers, and stops on destroy.
 */
import { type IceAnswer, IceRefresher, type IceServer } from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';
import { nextMacrotask } from '../helpers/until.js';

const fresh = (n: number, ttl: number): IceAnswer => ({
  iceServers: [{ urls: [`turn:t${n}.example.org`], username: `u${n}`, credential: 'c' }],
  ttl,
});

/** A refresher whose requests take `answers` in turn (an Error = a failed request). */
function setup(ttl: number, answers: (IceAnswer | null | Error)[]) {
  const clock = new FakeClock();
  const asked: (string | undefined)[] = [];
  const used: IceServer[][] = [];
  const errors: string[] = [];
  const refresher = new IceRefresher({
    clock,
    peerId: 'ab'.repeat(20),
    ttl,
    fetch: async (peerId) => {
      asked.push(peerId);
      const next = answers.shift();
      if (next === undefined) throw new Error('no more answers');
      if (next instanceof Error) throw next;
      return next;
    },
    onServers: (servers) => used.push(servers),
    onError: (err) => errors.push(err.message),
  });
  /** Moves the clock and lets a request started by it settle. */
  const advance = async (ms: number) => {
    clock.advance(ms);
    await nextMacrotask();
  };
  return { clock, refresher, asked, used, errors, advance };
}

describe('IceRefresher', () => {
  it('asks after refreshDelayMs of the latest ttl, for the same peer label every time', async () => {
    const { asked, used, advance } = setup(60, [fresh(1, 600), fresh(2, 600)]);
    await advance(29_999);
    expect(asked).toEqual([]);
    await advance(1);
    expect(asked).toEqual(['ab'.repeat(20)]);
    expect(used).toEqual([fresh(1, 600).iceServers]);
    // The fresh credentials live 600 s: the next request comes after 300 s, not 30 s.
    await advance(299_999);
    expect(asked).toHaveLength(1);
    await advance(1);
    expect(asked).toEqual(['ab'.repeat(20), 'ab'.repeat(20)]);
    expect(used).toEqual([fresh(1, 600).iceServers, fresh(2, 600).iceServers]);
  });

  it('keeps the servers in use when a request fails, is unusable or lists none, and tries again', async () => {
    const empty: IceAnswer = { iceServers: [], ttl: 600 };
    const { asked, used, errors, advance } = setup(60, [new Error('down'), null, empty, fresh(3, 0)]);
    await advance(30_000);
    expect(errors).toEqual(['down']);
    await advance(30_000);
    await advance(30_000);
    expect(asked).toHaveLength(3);
    expect(used).toEqual([]);
    expect(errors).toEqual(['down']);
    // Fresh servers whose answer names no lifetime: the last known one sets the next delay.
    await advance(30_000);
    expect(used).toEqual([fresh(3, 0).iceServers]);
    await advance(30_000);
    expect(asked).toHaveLength(5);
  });

  it('does nothing when the credentials never expire', async () => {
    const { clock, asked, advance } = setup(0, []);
    await advance(3_600_000);
    expect(asked).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('stops on destroy, ignores an answer still on its way, and destroy is idempotent', async () => {
    const { clock, refresher, asked, used, advance } = setup(60, [fresh(1, 600)]);
    clock.advance(30_000);
    expect(asked).toHaveLength(1);
    refresher.destroy();
    refresher.destroy();
    await nextMacrotask();
    expect(used).toEqual([]);
    expect(clock.pending).toBe(0);
    await advance(3_600_000);
    expect(asked).toHaveLength(1);
    expect(refresher.destroyed).toBe(true);
  });
});
