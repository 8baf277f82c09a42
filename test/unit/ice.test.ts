import { createHmac } from 'node:crypto';
import { describePair, iceOverSocket, parseIceAnswer } from '@ringswarm/cli';
import { type IceAnswer, selectedPairOf } from '@ringswarm/shared';
import { ConfigError, iceAnswer, loadConfig, stunAnswer, turnCredential } from '@ringswarm/signaling-server';
import { afterEach, describe, expect, it, vi } from 'vitest';

describe('ICE settings of the server', () => {
  it('has no STUN/TURN by default', () => {
    const config = loadConfig([], {});
    expect(config).toMatchObject({ stunUrls: [], turnUrls: [], turnSecret: undefined, turnTtlS: 600 });
    expect(iceAnswer(config, 'x', 0)).toEqual({ iceServers: [], ttl: 0 });
  });

  it('takes repeatable flags, or comma-separated environment variables', () => {
    const fromFlags = loadConfig(
      [
        '--stun-url',
        'stun:stun.example.org:3478',
        '--turn-url',
        'turn:turn.example.org:3478?transport=udp',
        '--turn-url',
        'turns:turn.example.org:5349?transport=tcp',
        '--turn-secret',
        's3cret',
        '--turn-ttl',
        '600',
      ],
      {},
    );
    expect(fromFlags).toMatchObject({
      stunUrls: ['stun:stun.example.org:3478'],
      turnUrls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349?transport=tcp'],
      turnSecret: 's3cret',
      turnTtlS: 600,
    });
    const fromEnv = loadConfig([], {
      STUN_URL: 'stun:a.example.org, stun:b.example.org:3479',
      TURN_URL: 'turn:a.example.org',
      TURN_SECRET: 'x',
      TURN_TTL: '3600',
    });
    expect(fromEnv).toMatchObject({
      stunUrls: ['stun:a.example.org', 'stun:b.example.org:3479'],
      turnUrls: ['turn:a.example.org'],
      turnSecret: 'x',
      turnTtlS: 3600,
    });
  });

  it('refuses bad URLs, TURN without its secret and a secret without TURN', () => {
    for (const argv of [
      ['--stun-url', 'http://stun.example.org'],
      ['--stun-url', 'turn:turn.example.org'],
      ['--turn-url', 'turn:turn.example.org', '--turn-secret', 'x', '--turn-url', 'turn:a b'],
      ['--turn-url', 'turn:turn.example.org?transport=sctp', '--turn-secret', 'x'],
      ['--turn-url', 'turn:turn.example.org'],
      ['--turn-secret', 'x'],
      ['--turn-url', 'turn:turn.example.org', '--turn-secret', 'x', '--turn-ttl', '5'],
    ]) {
      expect(() => loadConfig(argv, {}), argv.join(' ')).toThrow(ConfigError);
    }
  });

  it('mints TURN REST API credentials that coturn checks: base64(HMAC-SHA1(secret, "<expiry>:<label>"))', () => {
    const settings = {
      stunUrls: ['stun:s.example.org'],
      turnUrls: ['turn:t.example.org'],
      turnSecret: 'k',
      turnTtlS: 600,
    };
    const answer = iceAnswer(settings, 'peer1', 1_700_000_000_500);
    expect(answer.ttl).toBe(600);
    expect(answer.iceServers[0]).toEqual({ urls: ['stun:s.example.org'] });
    const turn = answer.iceServers[1];
    expect(turn?.urls).toEqual(['turn:t.example.org']);
    expect(turn?.username).toBe('1700000600:peer1');
    expect(turn?.credential).toBe(createHmac('sha1', 'k').update('1700000600:peer1').digest('base64'));
    expect(turnCredential('k', 'peer1', 1_700_000_600)).toEqual({
      username: turn?.username,
      credential: turn?.credential,
    });
  });

  it('answers STUN entries only for plain HTTP, whatever TURN is set up', () => {
    const settings = {
      stunUrls: ['stun:s.example.org'],
      turnUrls: ['turn:t.example.org'],
      turnSecret: 'k',
      turnTtlS: 600,
    };
    const answer = stunAnswer(settings, 'stun:own.example.org:3478');
    expect(answer).toEqual({
      iceServers: [{ urls: ['stun:own.example.org:3478'] }, { urls: ['stun:s.example.org'] }],
      ttl: 0,
    });
    expect(JSON.stringify(answer)).not.toMatch(/turn:|username|credential/);
  });
});

describe('the CLI reading /api/ice', () => {
  it('accepts the server answer and refuses anything else', () => {
    const settings = {
      stunUrls: ['stun:s.example.org'],
      turnUrls: ['turn:t.example.org'],
      turnSecret: 'k',
      turnTtlS: 60,
    };
    const answer = iceAnswer(settings, 'l', 0);
    expect(parseIceAnswer(JSON.parse(JSON.stringify(answer)))).toEqual(answer);
    expect(parseIceAnswer({ iceServers: [] })).toEqual({ iceServers: [], ttl: 0 });
    for (const bad of [
      null,
      {},
      { iceServers: [{}] },
      { iceServers: [{ urls: ['http://x'] }] },
      { iceServers: [{ urls: ['turn:x'], username: 'u' }] },
    ]) {
      expect(() => parseIceAnswer(bad)).toThrow();
    }
  });
});

describe('the CLI getting TURN credentials over the tracker socket', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A stand-in for the tracker client: `ice()` answers with `answers` in turn (an Error = a refusal). */
  const fakeTracker = (answers: (IceAnswer | Error)[]) => {
    const listeners = new Set<() => void>();
    const tracker = {
      connected: false,
      asked: 0,
      async ice(): Promise<IceAnswer> {
        tracker.asked++;
        const next = answers.shift();
        if (next === undefined || next instanceof Error) throw next ?? new Error('no more answers');
        return next;
      },
      on: (_event: 'connect', fn: () => void) => listeners.add(fn),
      off: (_event: 'connect', fn: () => void) => listeners.delete(fn),
      connect() {
        tracker.connected = true;
        for (const fn of [...listeners]) fn();
      },
      listeners,
    };
    return tracker;
  };
  const fresh = (n: number, ttl: number): IceAnswer => ({
    iceServers: [
      { urls: ['stun:s.example.org'] },
      { urls: [`turn:t${n}.example.org`], username: `u${n}`, credential: 'c' },
    ],
    ttl,
  });

  it('asks once connected, renews after refreshDelayMs of the latest ttl, keeps the old servers on failure, and stops', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const tracker = fakeTracker([new Error('ERR_RATE_LIMITED'), fresh(1, 60), new Error('down'), fresh(2, 600)]);
    const target: RTCIceServer[] = [{ urls: ['stun:s.example.org'] }];
    const applied: RTCIceServer[][] = [];
    const errors: string[] = [];
    const ice = iceOverSocket(
      tracker,
      target,
      (servers) => applied.push([...servers]),
      (err) => errors.push(err.message),
    );
    // Nothing before the socket is up.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(tracker.asked).toBe(0);
    const first = ice.firstAnswer(5_000);
    tracker.connect();
    expect(await first).toBeNull();
    expect(errors).toEqual(['ERR_RATE_LIMITED']);
    // The next connection asks again.
    tracker.connect();
    await vi.advanceTimersByTimeAsync(0);
    expect(tracker.asked).toBe(2);
    expect(applied).toEqual([fresh(1, 60).iceServers]);
    expect(target).toEqual(fresh(1, 60).iceServers);
    expect(await ice.firstAnswer(5_000)).toEqual(fresh(1, 60));
    // A reconnect does not ask again: the renewal timer does, at half of 60 s.
    tracker.connect();
    await vi.advanceTimersByTimeAsync(29_999);
    expect(tracker.asked).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(tracker.asked).toBe(3);
    expect(errors).toEqual(['ERR_RATE_LIMITED', 'down']);
    expect(target).toEqual(fresh(1, 60).iceServers);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(tracker.asked).toBe(4);
    expect(target).toEqual(fresh(2, 600).iceServers);
    expect(applied).toHaveLength(2);

    ice.destroy();
    ice.destroy();
    expect(tracker.listeners.size).toBe(0);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(tracker.asked).toBe(4);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('gives up waiting for the first answer after the timeout, and a destroyed one answers null', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const tracker = fakeTracker([]);
    const ice = iceOverSocket(
      tracker,
      [],
      () => {},
      () => {},
    );
    const waited = ice.firstAnswer(5_000);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await waited).toBeNull();
    const pending = ice.firstAnswer(5_000);
    ice.destroy();
    expect(await pending).toBeNull();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('the CLI telling how a connection goes', () => {
  it('says direct or relayed, with both ends', () => {
    const srflx = { type: 'srflx' as const, address: '203.0.113.10', port: 4000, protocol: 'udp' };
    const relay = { type: 'relay' as const, address: '203.0.113.1', port: 5000, protocol: 'udp' };
    expect(describePair({ local: srflx, remote: { ...srflx, address: '203.0.113.20' } })).toBe(
      'direct: srflx 203.0.113.10:4000 <-> srflx 203.0.113.20:4000 (udp)',
    );
    expect(describePair({ local: { ...srflx, type: 'prflx', address: '2001:db8::1' }, remote: relay })).toBe(
      'relayed through TURN: prflx [2001:db8::1]:4000 <-> relay 203.0.113.1:5000 (udp)',
    );
  });
});

describe('selected candidate pair from getStats()', () => {
  const local = {
    id: 'L',
    type: 'local-candidate',
    candidateType: 'srflx',
    address: '203.0.113.10',
    port: 4000,
    protocol: 'udp',
  };
  const remote = {
    id: 'R',
    type: 'remote-candidate',
    candidateType: 'relay',
    ip: '203.0.113.1',
    port: 5000,
    protocol: 'udp',
  };
  const other = {
    id: 'H',
    type: 'local-candidate',
    candidateType: 'host',
    address: '192.0.2.2',
    port: 4001,
    protocol: 'udp',
  };
  const expected = {
    local: { type: 'srflx', address: '203.0.113.10', port: 4000, protocol: 'udp' },
    remote: { type: 'relay', address: '203.0.113.1', port: 5000, protocol: 'udp' },
  };
  const map = (...stats: Record<string, unknown>[]) => new Map(stats.map((s) => [String(s.id), s]));

  it("follows the transport's selectedCandidatePairId (Chromium, @roamhq/wrtc)", () => {
    const report = map(
      local,
      remote,
      other,
      { id: 'T', type: 'transport', selectedCandidatePairId: 'P1' },
      {
        id: 'P0',
        type: 'candidate-pair',
        localCandidateId: 'H',
        remoteCandidateId: 'R',
        state: 'succeeded',
        nominated: true,
      },
      { id: 'P1', type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R', state: 'succeeded' },
    );
    expect(selectedPairOf(report)).toEqual(expected);
  });

  it('falls back to a pair flagged selected, then to the nominated pair that succeeded', () => {
    const pair = { id: 'P', type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R' };
    expect(selectedPairOf(map(local, remote, { ...pair, selected: true }))).toEqual(expected);
    expect(selectedPairOf(map(local, remote, { ...pair, nominated: true, state: 'succeeded' }))).toEqual(expected);
    expect(selectedPairOf(map(local, remote, { ...pair, nominated: true, state: 'in-progress' }))).toBeNull();
    // A plain object keyed by id, as some older implementations return.
    expect(selectedPairOf(Object.fromEntries(map(local, remote, { ...pair, selected: true })))).toEqual(expected);
  });

  it('is null when the report does not say, or says nonsense', () => {
    expect(selectedPairOf(undefined)).toBeNull();
    expect(selectedPairOf(new Map())).toBeNull();
    const pair = { id: 'P', type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R', selected: true };
    expect(selectedPairOf(map(local, pair))).toBeNull();
    expect(selectedPairOf(map({ ...local, candidateType: 'wormhole' }, remote, pair))).toBeNull();
    expect(selectedPairOf(map({ ...local, port: '4000' }, remote, pair))).toBeNull();
  });
});
