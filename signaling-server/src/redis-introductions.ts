/**
 * Introductions (./introductions.ts) in Redis, shared by every instance of a cluster: the
 * instance that gave the announce answer and the one the reply signal arrives at may differ.
 *
 * Key (prefix `ringswarm:` by default): `intro:<peerId>`, a sorted set of the IDs introduced
 * to the peer, scored by when the introduction lapses (ms). Each write prunes lapsed and
 * surplus entries (the oldest go first) and sets the key's TTL to the window, so a peer that
 * is gone leaves nothing behind for longer than that.
 */
import { INTRODUCTION_WINDOW_MS, type Introductions, MAX_INTRODUCTIONS_PER_PEER } from './introductions.js';
import type { RedisClient } from './redis-registry.js';

const SCRIPTS = {
  /** ARGV: prefix, peer, now, windowMs, max, introduced IDs... */
  introduce: `
local key = ARGV[1] .. 'intro:' .. ARGV[2]
local now, window = tonumber(ARGV[3]), tonumber(ARGV[4])
local args = {}
for i = 6, #ARGV do
  table.insert(args, now + window)
  table.insert(args, ARGV[i])
end
if #args > 0 then redis.call('ZADD', key, unpack(args)) end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
local extra = redis.call('ZCARD', key) - tonumber(ARGV[5])
if extra > 0 then redis.call('ZREMRANGEBYRANK', key, 0, extra - 1) end
redis.call('PEXPIRE', key, window)
return 1`,
  /** ARGV: prefix, a, b, now */
  introduced: `
local now = tonumber(ARGV[4])
local s = redis.call('ZSCORE', ARGV[1] .. 'intro:' .. ARGV[2], ARGV[3])
if s and tonumber(s) > now then return 1 end
s = redis.call('ZSCORE', ARGV[1] .. 'intro:' .. ARGV[3], ARGV[2])
if s and tonumber(s) > now then return 1 end
return 0`,
} as const;

type ScriptName = keyof typeof SCRIPTS;

export interface RedisIntroductionsOptions {
  /** Key prefix; default `ringswarm:` (the registry's). */
  prefix?: string;
  /** Default {@link INTRODUCTION_WINDOW_MS}. */
  windowMs?: number;
  /** Default {@link MAX_INTRODUCTIONS_PER_PEER}. */
  maxPerPeer?: number;
  /** A write that failed (Redis away): the introduction is lost, the peers can announce again. */
  onError?: (err: unknown) => void;
}

export class RedisIntroductions implements Introductions {
  readonly prefix: string;
  readonly #client: RedisClient;
  readonly #windowMs: number;
  readonly #max: number;
  readonly #onError: (err: unknown) => void;
  readonly #shas = new Map<ScriptName, string>();

  /** `client` must be connected (or connecting); this never closes it. */
  constructor(client: RedisClient, options: RedisIntroductionsOptions = {}) {
    this.#client = client;
    this.prefix = options.prefix ?? 'ringswarm:';
    this.#windowMs = options.windowMs ?? INTRODUCTION_WINDOW_MS;
    this.#max = options.maxPerPeer ?? MAX_INTRODUCTIONS_PER_PEER;
    this.#onError = options.onError ?? (() => {});
  }

  async #run(name: ScriptName, args: (string | number)[]): Promise<unknown> {
    const options = { arguments: [this.prefix, ...args.map(String)] };
    const sha = this.#shas.get(name);
    if (sha) {
      try {
        return await this.#client.evalSha(sha, options);
      } catch (err) {
        if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      }
    }
    // The first call sends the script itself, so it is ordered before later commands on this connection.
    const result = await this.#client.eval(SCRIPTS[name], options);
    if (!this.#shas.has(name)) {
      this.#client.scriptLoad(SCRIPTS[name]).then(
        (loaded) => this.#shas.set(name, loaded),
        () => {},
      );
    }
    return result;
  }

  introduce(peerId: string, introduced: readonly string[], now: number): void {
    const others = introduced.filter((id) => id !== peerId);
    if (others.length === 0) return;
    this.#run('introduce', [peerId, now, this.#windowMs, this.#max, ...others]).catch(this.#onError);
  }

  async introduced(a: string, b: string, now: number): Promise<boolean> {
    const res = await this.#run('introduced', [a, b, now]);
    return res === 1 || res === '1';
  }

  async revoke(peerId: string): Promise<void> {
    await this.#client.del(`${this.prefix}intro:${peerId}`);
  }

  forget(_peerId: string): void {
    // It may have failed over to another instance, which still needs them: they expire instead.
  }
}
