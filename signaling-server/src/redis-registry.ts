/**
 * The swarm registry in Redis, shared by every tracker instance of a cluster. Each change is
 * one Lua script (atomic, one round trip); peer IDs only, never sockets.
 *
 * Keys (prefix `ringswarm:` by default):
 * - `swarm:<infohash>:seeders`, `swarm:<infohash>:leechers`: sorted sets, peer ID → last announce (ms)
 * - `swarm:<infohash>:downloaded`: completed downloads
 * - `peer:<peerId>:swarms`: sorted set, infohash → last announce
 * - `peer:<peerId>:owner`: the instance holding the peer's connection
 * - `peer:<peerId>:socket`: the socket.io ID of that connection (set with the owner by a claim)
 * - `swarms`, `peers`, `members` (`"<infohash> <peerId>"`): sorted sets by last announce, for
 *   totals and for the expiry sweep
 * - `instance:<id>`: an instance's own figures, kept alive by its heartbeat
 * - `ring`: set of ring members (bootstrap candidates); one whose instance died is dropped
 *   when a sample meets it
 *
 * Memberships carry their TTL as the score: any live instance's sweep drops those older
 * than the TTL, so a dead instance's peers expire; the keys themselves also get a Redis
 * expiry (twice the TTL) so nothing outlives a cluster that stopped altogether. A peer ID is
 * one member however many times it reconnects, so a failover never counts it twice.
 * Keys are built inside the scripts: this needs one Redis (or a primary with replicas), not
 * a Redis Cluster.
 */
import type { createClient } from 'redis';
import type {
  AnnounceOutcome,
  InstanceInfo,
  PeerState,
  RegistryTotals,
  SwarmCounts,
  SwarmRegistry,
} from './swarm-registry.js';

export type RedisClient = ReturnType<typeof createClient>;

export interface RedisRegistryOptions {
  /** Key prefix; default `ringswarm:`. */
  prefix?: string;
  /** This instance's ID (random per process). */
  instanceId: string;
  /** A swarm member that has not announced for this long is dropped, ms. */
  peerTtlMs: number;
  /** How long an instance's figures outlive its last heartbeat, ms. */
  instanceTtlMs: number;
}

/** Stale memberships removed per script call by the sweep. */
const EXPIRE_BATCH = 500;
/** An owner record with no announce for this long is garbage (the instance checks liveness anyway). */
const OWNER_TTL_MS = 24 * 3_600_000;

const LIB = `
local P = ARGV[1]
local function sk(ih, kind) return P .. 'swarm:' .. ih .. ':' .. kind end
local function pk(id) return P .. 'peer:' .. id .. ':swarms' end
local function alive(id)
  local owner = redis.call('GET', P .. 'peer:' .. id .. ':owner')
  return owner and redis.call('EXISTS', P .. 'instance:' .. owner) == 1
end
local function removeMember(ih, id)
  local n = redis.call('ZREM', sk(ih, 'seeders'), id) + redis.call('ZREM', sk(ih, 'leechers'), id)
  redis.call('ZREM', P .. 'members', ih .. ' ' .. id)
  redis.call('ZREM', pk(id), ih)
  if redis.call('EXISTS', pk(id)) == 0 then redis.call('ZREM', P .. 'peers', id) end
  if redis.call('EXISTS', sk(ih, 'seeders'), sk(ih, 'leechers')) == 0 then
    redis.call('DEL', sk(ih, 'downloaded'))
    redis.call('ZREM', P .. 'swarms', ih)
  end
  return n
end
local function sampleRing(except, n)
  local out = {}
  for _, id in ipairs(redis.call('SRANDMEMBER', P .. 'ring', n)) do
    if not alive(id) then redis.call('SREM', P .. 'ring', id)
    elseif id ~= except then table.insert(out, id) end
  end
  return out
end
`;

/** Adds or updates a membership; 0 when the peer is in too many swarms. ARGV as the upsert script. */
const UPSERT = `
local function upsert()
  local ih, id, now, ttl = ARGV[2], ARGV[3], tonumber(ARGV[6]), tonumber(ARGV[8])
  local mine = pk(id)
  if not redis.call('ZSCORE', mine, ih) and redis.call('ZCARD', mine) >= tonumber(ARGV[7]) then return 0 end
  local seeders, leechers, downloaded = sk(ih, 'seeders'), sk(ih, 'leechers'), sk(ih, 'downloaded')
  if ARGV[4] == '1' then
    local wasLeecher = redis.call('ZREM', leechers, id) == 1
    redis.call('ZADD', seeders, now, id)
    if ARGV[5] == '1' and wasLeecher then redis.call('INCR', downloaded) end
  else
    redis.call('ZREM', seeders, id)
    redis.call('ZADD', leechers, now, id)
  end
  redis.call('ZADD', mine, now, ih)
  redis.call('ZADD', P .. 'members', now, ih .. ' ' .. id)
  redis.call('ZADD', P .. 'swarms', now, ih)
  redis.call('ZADD', P .. 'peers', now, id)
  for _, key in ipairs({ seeders, leechers, downloaded, mine }) do redis.call('PEXPIRE', key, ttl) end
  -- An owner lost with a Redis restart comes back with the next announce.
  local ownerKey = P .. 'peer:' .. id .. ':owner'
  if not redis.call('SET', ownerKey, ARGV[10], 'NX', 'PX', ARGV[9]) then redis.call('PEXPIRE', ownerKey, ARGV[9]) end
  return 1
end
`;

const SCRIPTS = {
  /** ARGV: prefix, infohash, peer, seeder 0|1, completed 0|1, now, maxSwarms, keyTtlMs, ownerTtlMs, instance */
  upsert: `${LIB}${UPSERT}
return upsert()`,
  /**
   * upsert, then up to n random seeders, '', up to n random leechers, '', and the counts:
   * a whole announce in one round trip. ARGV: as upsert, then n. Returns {} when refused.
   */
  announce: `${LIB}${UPSERT}
if upsert() == 0 then return {} end
local ih, n = ARGV[2], tonumber(ARGV[11])
local out = {}
if n > 0 then out = redis.call('ZRANDMEMBER', sk(ih, 'seeders'), n) end
table.insert(out, '')
if n > 0 then
  for _, id in ipairs(redis.call('ZRANDMEMBER', sk(ih, 'leechers'), n)) do table.insert(out, id) end
end
table.insert(out, '')
table.insert(out, redis.call('ZCARD', sk(ih, 'seeders')))
table.insert(out, redis.call('ZCARD', sk(ih, 'leechers')))
table.insert(out, tonumber(redis.call('GET', sk(ih, 'downloaded')) or '0'))
return out`,
  /** ARGV: prefix, infohash, peer */
  remove: `${LIB}
return removeMember(ARGV[2], ARGV[3])`,
  /**
   * ARGV: prefix, peer, instance, ownerTtlMs, socket. Check-and-set: returns the previous
   * owner's socket when it is on another live instance, else false (nil).
   */
  claim: `${LIB}
local ownerKey = P .. 'peer:' .. ARGV[2] .. ':owner'
local socketKey = P .. 'peer:' .. ARGV[2] .. ':socket'
local previous = redis.call('GET', ownerKey)
local previousSocket = redis.call('GET', socketKey)
redis.call('SET', ownerKey, ARGV[3], 'PX', ARGV[4])
redis.call('SET', socketKey, ARGV[5], 'PX', ARGV[4])
if previous and previous ~= ARGV[3] and previousSocket and redis.call('EXISTS', P .. 'instance:' .. previous) == 1 then
  return previousSocket
end
return false`,
  /** ARGV: prefix, peer, instance */
  release: `${LIB}
local id = ARGV[2]
local ownerKey = P .. 'peer:' .. id .. ':owner'
local owner = redis.call('GET', ownerKey)
if owner and owner ~= ARGV[3] then return 0 end
redis.call('DEL', ownerKey, P .. 'peer:' .. id .. ':socket')
redis.call('SREM', P .. 'ring', id)
for _, ih in ipairs(redis.call('ZRANGE', pk(id), 0, -1)) do removeMember(ih, id) end
return 1`,
  /**
   * ARGV: prefix, peer, n: up to n random live members other than the peer, taken before the
   * peer is added, in one step (two peers joining at once on two instances: one sees the other).
   */
  joinRing: `${LIB}
local out = sampleRing(ARGV[2], tonumber(ARGV[3]))
redis.call('SADD', P .. 'ring', ARGV[2])
return out`,
  /** ARGV: prefix, except, n: up to n random live members (dead ones are removed on the way) */
  sampleRing: `${LIB}
return sampleRing(ARGV[2], tonumber(ARGV[3]))`,
  /** ARGV: prefix, a, b */
  bothInRing: `${LIB}
local r = P .. 'ring'
if redis.call('SISMEMBER', r, ARGV[2]) == 1 and redis.call('SISMEMBER', r, ARGV[3]) == 1
  and alive(ARGV[2]) and alive(ARGV[3]) then return 1 end
return 0`,
  /** ARGV: prefix, peer */
  isOnline: `${LIB}
local owner = redis.call('GET', P .. 'peer:' .. ARGV[2] .. ':owner')
if not owner then return 0 end
return redis.call('EXISTS', P .. 'instance:' .. owner)`,
  /** ARGV: prefix, before, limit */
  expire: `${LIB}
local stale = redis.call('ZRANGE', P .. 'members', '-inf', '(' .. ARGV[2], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(stale) do
  local ih, id = string.match(member, '^(%S+) (%S+)$')
  if ih then removeMember(ih, id) else redis.call('ZREM', P .. 'members', member) end
end
return #stale`,
  /** ARGV: prefix, infohash */
  counts: `${LIB}
local ih = ARGV[2]
return { redis.call('ZCARD', sk(ih, 'seeders')), redis.call('ZCARD', sk(ih, 'leechers')),
  tonumber(redis.call('GET', sk(ih, 'downloaded')) or '0') }`,
  /** ARGV: prefix, infohash, n: up to n random seeders, then a separator '', then up to n leechers */
  sample: `${LIB}
local ih, n = ARGV[2], tonumber(ARGV[3])
local out = redis.call('ZRANDMEMBER', sk(ih, 'seeders'), n)
table.insert(out, '')
for _, id in ipairs(redis.call('ZRANDMEMBER', sk(ih, 'leechers'), n)) do table.insert(out, id) end
return out`,
  /** ARGV: prefix */
  totals: `${LIB}
local seeders, leechers = 0, 0
for _, ih in ipairs(redis.call('ZRANGE', P .. 'swarms', 0, -1)) do
  seeders = seeders + redis.call('ZCARD', sk(ih, 'seeders'))
  leechers = leechers + redis.call('ZCARD', sk(ih, 'leechers'))
end
return { redis.call('ZCARD', P .. 'swarms'), redis.call('ZCARD', P .. 'peers'), seeders, leechers }`,
  /** ARGV: prefix. Flat list: infohash, complete, incomplete, downloaded, ... */
  swarms: `${LIB}
local out = {}
for _, ih in ipairs(redis.call('ZRANGE', P .. 'swarms', 0, -1)) do
  local s, l = redis.call('ZCARD', sk(ih, 'seeders')), redis.call('ZCARD', sk(ih, 'leechers'))
  if s + l > 0 then
    table.insert(out, ih)
    table.insert(out, s)
    table.insert(out, l)
    table.insert(out, tonumber(redis.call('GET', sk(ih, 'downloaded')) or '0'))
  end
end
return out`,
} as const;

type ScriptName = keyof typeof SCRIPTS;

const asNumber = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const asStrings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

export class RedisSwarmRegistry implements SwarmRegistry {
  readonly prefix: string;
  readonly instanceId: string;
  #client: RedisClient;
  #peerTtlMs: number;
  #instanceTtlMs: number;
  #shas = new Map<ScriptName, string>();
  #destroyed = false;
  /** Redis round trips made, per registry call (the benchmark reports them per announce). */
  readonly calls: Record<string, number> = {};

  /** `client` must be connected (or connecting); the registry never closes it. */
  constructor(client: RedisClient, options: RedisRegistryOptions) {
    this.#client = client;
    this.prefix = options.prefix ?? 'ringswarm:';
    this.instanceId = options.instanceId;
    this.#peerTtlMs = options.peerTtlMs;
    this.#instanceTtlMs = options.instanceTtlMs;
  }

  /** Runs a script by SHA, loading it on first use or after a Redis restart (NOSCRIPT). */
  async #run(name: ScriptName, ...args: (string | number)[]): Promise<unknown> {
    const options = { arguments: [this.prefix, ...args.map(String)] };
    const sha = this.#shas.get(name);
    this.#count(name);
    if (sha) {
      try {
        return await this.#client.evalSha(sha, options);
      } catch (err) {
        if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      }
    }
    this.#shas.set(name, await this.#client.scriptLoad(SCRIPTS[name]));
    return this.#client.eval(SCRIPTS[name], options);
  }

  #count(name: string): void {
    this.calls[name] = (this.calls[name] ?? 0) + 1;
  }

  #upsertArgs(infoHash: string, peerId: string, state: PeerState, completed: boolean, now: number, maxSwarms: number) {
    return [
      infoHash,
      peerId,
      state.left === 0 ? 1 : 0,
      completed ? 1 : 0,
      now,
      Math.min(maxSwarms, Number.MAX_SAFE_INTEGER),
      2 * this.#peerTtlMs,
      OWNER_TTL_MS,
      this.instanceId,
    ];
  }

  async upsert(
    infoHash: string,
    peerId: string,
    state: PeerState,
    completed: boolean,
    now: number,
    maxSwarms = Number.MAX_SAFE_INTEGER,
  ): Promise<boolean> {
    const res = await this.#run('upsert', ...this.#upsertArgs(infoHash, peerId, state, completed, now, maxSwarms));
    return asNumber(res) === 1;
  }

  async announce(
    infoHash: string,
    peerId: string,
    state: PeerState,
    completed: boolean,
    now: number,
    numwant: number,
    random: () => number,
    maxSwarms = Number.MAX_SAFE_INTEGER,
  ): Promise<AnnounceOutcome | null> {
    const args = this.#upsertArgs(infoHash, peerId, state, completed, now, maxSwarms);
    const res = await this.#run('announce', ...args, numwant > 0 ? numwant + 1 : 0);
    if (!Array.isArray(res) || res.length === 0) return null;
    const end = res.length - 3;
    const peers = numwant > 0 ? mergeSample(asStrings(res.slice(0, end - 1)), peerId, numwant, random) : [];
    const [complete, incomplete, downloaded] = res.slice(end).map(asNumber);
    return { peers, counts: { complete: complete ?? 0, incomplete: incomplete ?? 0, downloaded: downloaded ?? 0 } };
  }

  async remove(infoHash: string, peerId: string): Promise<void> {
    await this.#run('remove', infoHash, peerId);
  }

  async claim(peerId: string, socketId: string): Promise<string | null> {
    const previous = await this.#run('claim', peerId, this.instanceId, OWNER_TTL_MS, socketId);
    return typeof previous === 'string' ? previous : null;
  }

  async release(peerId: string): Promise<void> {
    await this.#run('release', peerId, this.instanceId);
  }

  async isOnline(peerId: string): Promise<boolean> {
    return asNumber(await this.#run('isOnline', peerId)) === 1;
  }

  async joinRing(peerId: string, k: number, random: () => number): Promise<string[]> {
    return this.#ringSample('joinRing', peerId, k, random);
  }

  async sampleRing(except: string, k: number, random: () => number): Promise<string[]> {
    return k > 0 ? this.#ringSample('sampleRing', except, k, random) : [];
  }

  /** Runs a script that samples the ring (and may add `peerId` to it); up to k members, never `peerId`. */
  async #ringSample(
    script: 'joinRing' | 'sampleRing',
    peerId: string,
    k: number,
    random: () => number,
  ): Promise<string[]> {
    // Ask for more than k: the caller and dead members are left out of the answer.
    const sampled = asStrings(await this.#run(script, peerId, 2 * Math.max(0, k) + 1));
    return k > 0 ? mergeSample(sampled, peerId, k, random) : [];
  }

  async bothInRing(a: string, b: string): Promise<boolean> {
    return asNumber(await this.#run('bothInRing', a, b)) === 1;
  }

  async expire(before: number, limit = Infinity): Promise<number> {
    let dropped = 0;
    // Each script call is one bounded ZRANGE BYSCORE ... LIMIT: Redis never walks them all at once.
    while (dropped < limit) {
      const batch = Math.min(EXPIRE_BATCH, limit - dropped);
      const n = asNumber(await this.#run('expire', before, batch));
      dropped += n;
      if (n < batch) break;
    }
    return dropped;
  }

  async counts(infoHash: string): Promise<SwarmCounts> {
    const [complete, incomplete, downloaded] = (await this.#run('counts', infoHash)) as unknown[];
    return { complete: asNumber(complete), incomplete: asNumber(incomplete), downloaded: asNumber(downloaded) };
  }

  async sample(infoHash: string, except: string, count: number, random: () => number): Promise<string[]> {
    if (count <= 0) return [];
    return mergeSample(asStrings(await this.#run('sample', infoHash, count + 1)), except, count, random);
  }

  async shareSwarm(a: string, b: string): Promise<boolean> {
    this.#count('shareSwarm');
    const key = (id: string) => `${this.prefix}peer:${id}:swarms`;
    const n = await this.#client.sendCommand(['ZINTERCARD', '2', key(a), key(b), 'LIMIT', '1']);
    return asNumber(n) > 0;
  }

  async totals(): Promise<RegistryTotals> {
    const [swarms, peers, seeders, leechers] = ((await this.#run('totals')) as unknown[]).map(asNumber);
    return { swarms: swarms ?? 0, peers: peers ?? 0, seeders: seeders ?? 0, leechers: leechers ?? 0 };
  }

  async swarms(): Promise<[string, SwarmCounts][]> {
    const flat = (await this.#run('swarms')) as unknown[];
    const out: [string, SwarmCounts][] = [];
    for (let i = 0; i + 3 < flat.length; i += 4) {
      out.push([
        String(flat[i]),
        { complete: asNumber(flat[i + 1]), incomplete: asNumber(flat[i + 2]), downloaded: asNumber(flat[i + 3]) },
      ]);
    }
    return out;
  }

  async publishInstance(info: InstanceInfo): Promise<void> {
    this.#count('publishInstance');
    await this.#client.set(`${this.prefix}instance:${this.instanceId}`, JSON.stringify(info), {
      expiration: { type: 'PX', value: this.#instanceTtlMs },
    });
  }

  async instances(): Promise<InstanceInfo[]> {
    const keys: string[] = [];
    for await (const batch of this.#client.scanIterator({ MATCH: `${this.prefix}instance:*`, COUNT: 100 })) {
      keys.push(...asStrings(batch));
    }
    if (keys.length === 0) return [];
    const values = await this.#client.mGet(keys);
    const out: InstanceInfo[] = [];
    for (const v of values) {
      if (typeof v !== 'string') continue;
      try {
        const info: unknown = JSON.parse(v);
        if (isInstanceInfo(info)) out.push(info);
      } catch {
        // another program's key under our prefix: ignore it
      }
    }
    return out.sort((x, y) => (x.id < y.id ? -1 : 1));
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    if (this.#client.isReady) {
      await this.#client.del(`${this.prefix}instance:${this.instanceId}`).catch(() => {});
    }
  }
}

/**
 * Random seeders, '', random leechers (each a uniform pick of its set, one more than
 * wanted in case the caller is among them): shuffled together, without `except`, `count` kept.
 */
function mergeSample(found: string[], except: string, count: number, random: () => number): string[] {
  const ids = found.filter((id) => id !== '' && id !== except);
  const n = Math.min(count, ids.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (ids.length - i));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  ids.length = n;
  return ids;
}

function isInstanceInfo(v: unknown): v is InstanceInfo {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.id === 'string' && typeof o.connections === 'number' && typeof o.ringMembers === 'number';
}
