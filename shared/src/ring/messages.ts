/**
 * Ring messages. Inside the ring code identifiers are bigints ({@link RingMessage}); on
 * the wire they are fixed-width hex strings ({@link RingWireMessage}). Every inbound wire
 * message is `unknown` until {@link decodeRingMessage} has checked it.
 */
import { z } from 'zod';
import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import type { RingSpace } from './id.js';
import { RING_ROUTE_MAX_HOPS } from './route.js';

/** The most node IDs one message may carry (successor lists, lookup candidates). */
export const RING_MAX_NODES_PER_MESSAGE = 64;

/** Requests carry a request id `rid`; the answer echoes it. */
export type RingRequest =
  | { type: 'ping'; rid: number }
  /** `exclude`: nodes the asker found dead; a second ask names others instead. */
  | { type: 'find'; rid: number; key: bigint; exclude?: bigint[] }
  | { type: 'get-state'; rid: number }
  | { type: 'join'; rid: number }
  /**
   * Take the sender as a leaf (a peer outside the ring that routes through this member, see
   * net/overlay.ts): sent to the member just before the sender's ID, which then keeps the
   * sender's link and delivers what is routed to it.
   */
  | { type: 'attach'; rid: number }
  /**
   * A routed lookup (ring/route.ts): handed on hop by hop over open links towards the owner
   * of `key`. `path` is the asker followed by every node it passed, so the answer can go back
   * the same way; `rid` is the asker's.
   */
  | {
      type: 'route';
      rid: number;
      key: bigint;
      path: bigint[];
      /** A DHT get: the owner answers with its values for `key` too (no connection to it needed). */
      get?: true;
    };

export type RingReply =
  /** `predecessor` lets a lookup check that the pinged node really owns the key. */
  | { type: 'pong'; rid: number; predecessor: bigint | null }
  /**
   * done: `nodes` are the key's possible owners, best first (the answerer's successors
   * from the first one at or past the key). Not done: the answerer's closest preceding
   * nodes for the key, closest first.
   */
  | { type: 'found'; rid: number; done: boolean; nodes: bigint[] }
  | { type: 'state'; rid: number; predecessor: bigint | null; successors: bigint[] }
  /** `successors` starts with the answering node itself. */
  | { type: 'join-ack'; rid: number; predecessor: bigint | null; successors: bigint[] }
  /** `ok`: taken as a leaf (false: no room, or not a member). `successors`: the answering member's. */
  | { type: 'attach-ack'; rid: number; ok: boolean; successors: bigint[] }
  /**
   * The answer to a routed lookup, travelling back along `path` (the request's path and the
   * answering owner, last). `owners`: the owner and its successors; empty when the request
   * could go no further. `predecessor`: the owner's (so a routed lookup of a node's own ID
   * also answers what a ping would).
   */
  | {
      type: 'routed';
      rid: number;
      owners: bigint[];
      path: bigint[];
      predecessor: bigint | null;
      /** For a `get`: the owner's values for the key (as a `dht-get-reply` carries them). */
      values?: string[];
    };

export type RingNotice =
  /** From a node to its predecessor: my successor list changed. */
  | { type: 'successors'; successors: bigint[] }
  /** A graceful leave, to both neighbours: here are my predecessor and successors. */
  | { type: 'leave'; predecessor: bigint | null; successors: bigint[] };

/**
 * The two kinds of DHT record. `provider`: the value is a peer's ring ID (hex), and a put
 * carries none: the value is the put's authenticated sender. `name`: the value is a signed
 * name record ({@link encodeNameValue} in name-record.ts), checked wherever it is stored or read.
 */
export type DhtRecordKind = 'provider' | 'name';

/** One stored DHT value and how long it has left to live (as replicated between neighbours). */
export interface DhtRecord {
  kind: DhtRecordKind;
  key: bigint;
  value: string;
  ttlMs: number;
}

export type DhtRequest =
  /** Store the sender itself as a provider under `key` (at the key's owner, which replicates it). */
  | { type: 'dht-put'; rid: number; kind: 'provider'; key: bigint; ttlMs: number }
  /** Store a name record signed by the sender under `key`. */
  | { type: 'dht-put'; rid: number; kind: 'name'; key: bigint; value: string; ttlMs: number }
  | { type: 'dht-get'; rid: number; key: bigint };

export type DhtReply =
  | { type: 'dht-put-reply'; rid: number; ok: boolean }
  | { type: 'dht-get-reply'; rid: number; values: string[] };

/** Replication to successors and hand-over to a new owner: records to keep. */
export type DhtNotice = { type: 'dht-store'; records: DhtRecord[] };

export type DhtMessage = DhtRequest | DhtReply | DhtNotice;

export type RingMessage = RingRequest | RingReply | RingNotice | DhtMessage;
export type RingMessageType = RingMessage['type'];

const ridSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** The most values one DHT answer or hand-over carries. */
export const DHT_MAX_VALUES_PER_MESSAGE = 256;
/**
 * Bytes of values (as JSON) one DHT answer or hand-over carries at most, so that it stays
 * under the overlay's 64 KiB frame limit (a name value is 258 characters).
 */
export const DHT_MAX_MESSAGE_VALUE_BYTES = 40 * 1024;
/** What one record costs of {@link DHT_MAX_MESSAGE_VALUE_BYTES}: its value, key and JSON around them. */
export function dhtRecordBytes(value: string, keyHexLength: number): number {
  return value.length + keyHexLength + 64;
}
/**
 * How often clients put their records again (ms): the overlay's record TTL (20 min) times
 * the republish fraction (0.5) of dht-store.ts.
 */
export const DHT_PUBLISH_INTERVAL_MS = 10 * 60 * 1000;
/** The longest a DHT record may live (ms): twice the publish interval, so one missed put is survived. */
export const DHT_MAX_TTL_MS = 2 * DHT_PUBLISH_INTERVAL_MS;
/** A name value: infohash (64 hex), publisher's Ed25519 public key (64 hex), signature (128 hex), dot-separated. */
export const NAME_VALUE_PATTERN = /^[0-9a-f]{64}\.[0-9a-f]{64}\.[0-9a-f]{128}$/;
const nameValueSchema = z.string().regex(NAME_VALUE_PATTERN);
const ttlSchema = z.number().int().positive().max(DHT_MAX_TTL_MS);

/** Builds the validator for one identifier width. */
function wireSchema(space: RingSpace) {
  const digits = z.string().regex(new RegExp(`^[0-9a-f]{${space.hexLength}}$`), `${space.hexLength} hex digits`);
  // Any hexLength digits are below 2^m when m is a multiple of 4; otherwise the top digit is
  // bounded too (zod runs refinements even after the regex failed: check the digits again).
  const id =
    space.bits % 4 === 0
      ? digits
      : digits.refine(
          (hex) => /^[0-9a-f]+$/.test(hex) && space.contains(BigInt(`0x${hex}`)),
          'identifier out of range',
        );
  const ids = z.array(id).max(RING_MAX_NODES_PER_MESSAGE);
  // The asker, the hops, and (in an answer) the owner: never empty.
  const path = z
    .array(id)
    .min(1)
    .max(RING_ROUTE_MAX_HOPS + 1);
  const dhtValues = z.array(z.union([id, nameValueSchema])).max(DHT_MAX_VALUES_PER_MESSAGE);
  const record = z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('provider'), key: id, value: id, ttlMs: ttlSchema }),
    z.strictObject({ kind: z.literal('name'), key: id, value: nameValueSchema, ttlMs: ttlSchema }),
  ]);
  return z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('ping'), rid: ridSchema }),
    z.strictObject({ type: z.literal('find'), rid: ridSchema, key: id, exclude: ids.optional() }),
    z.strictObject({ type: z.literal('get-state'), rid: ridSchema }),
    z.strictObject({ type: z.literal('join'), rid: ridSchema }),
    z.strictObject({ type: z.literal('attach'), rid: ridSchema }),
    z.strictObject({ type: z.literal('route'), rid: ridSchema, key: id, path: path, get: z.literal(true).optional() }),
    z.strictObject({ type: z.literal('pong'), rid: ridSchema, predecessor: id.nullable() }),
    z.strictObject({ type: z.literal('found'), rid: ridSchema, done: z.boolean(), nodes: ids }),
    z.strictObject({ type: z.literal('state'), rid: ridSchema, predecessor: id.nullable(), successors: ids }),
    z.strictObject({ type: z.literal('join-ack'), rid: ridSchema, predecessor: id.nullable(), successors: ids }),
    z.strictObject({ type: z.literal('attach-ack'), rid: ridSchema, ok: z.boolean(), successors: ids }),
    z.strictObject({
      type: z.literal('routed'),
      rid: ridSchema,
      owners: ids,
      path: path,
      predecessor: id.nullable(),
      values: dhtValues.optional(),
    }),
    z.strictObject({ type: z.literal('successors'), successors: ids }),
    z.strictObject({ type: z.literal('leave'), predecessor: id.nullable(), successors: ids }),
    z.discriminatedUnion('kind', [
      z.strictObject({
        type: z.literal('dht-put'),
        rid: ridSchema,
        kind: z.literal('provider'),
        key: id,
        ttlMs: ttlSchema,
      }),
      z.strictObject({
        type: z.literal('dht-put'),
        rid: ridSchema,
        kind: z.literal('name'),
        key: id,
        value: nameValueSchema,
        ttlMs: ttlSchema,
      }),
    ]),
    z.strictObject({ type: z.literal('dht-get'), rid: ridSchema, key: id }),
    z.strictObject({ type: z.literal('dht-put-reply'), rid: ridSchema, ok: z.boolean() }),
    z.strictObject({
      type: z.literal('dht-get-reply'),
      rid: ridSchema,
      values: dhtValues,
    }),
    z.strictObject({
      type: z.literal('dht-store'),
      records: z.array(record).max(DHT_MAX_VALUES_PER_MESSAGE),
    }),
  ]);
}

/** The wire form of a ring message: identifiers as ceil(m / 4) lowercase hex digits. */
export type RingWireMessage = z.infer<ReturnType<typeof wireSchema>>;

/** One validator per identifier width, shared by every node of that width (a simulator runs thousands). */
const schemas = new Map<number, ReturnType<typeof wireSchema>>();

function hexify(space: RingSpace, v: unknown): unknown {
  if (typeof v === 'bigint') return space.toHex(v);
  if (Array.isArray(v)) return v.map((x) => hexify(space, x));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = hexify(space, x);
    return out;
  }
  return v;
}

/** Converts a message to its wire form (hex identifiers); the result is JSON-safe. */
export function encodeRingMessage(space: RingSpace, msg: RingMessage): RingWireMessage {
  return hexify(space, msg) as RingWireMessage;
}

/**
 * Validates an inbound wire message and converts its identifiers to bigints.
 * Throws {@link RingswarmError} `ERR_RING_BAD_MESSAGE` on anything malformed.
 */
export function decodeRingMessage(space: RingSpace, raw: unknown): RingMessage {
  let schema = schemas.get(space.bits);
  if (!schema) {
    schema = wireSchema(space);
    schemas.set(space.bits, schema);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RingswarmError(
      ErrorCode.RING_BAD_MESSAGE,
      `bad ring message: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`,
    );
  }
  const w = parsed.data;
  const id = (hex: string) => BigInt(`0x${hex}`);
  const idOrNull = (hex: string | null) => (hex === null ? null : id(hex));
  switch (w.type) {
    case 'ping':
    case 'get-state':
    case 'join':
    case 'attach':
      return { type: w.type, rid: w.rid };
    case 'find':
      return w.exclude === undefined
        ? { type: 'find', rid: w.rid, key: id(w.key) }
        : { type: 'find', rid: w.rid, key: id(w.key), exclude: w.exclude.map(id) };
    case 'pong':
      return { type: 'pong', rid: w.rid, predecessor: idOrNull(w.predecessor) };
    case 'found':
      return { type: 'found', rid: w.rid, done: w.done, nodes: w.nodes.map(id) };
    case 'route': {
      const route = { type: 'route' as const, rid: w.rid, key: id(w.key), path: w.path.map(id) };
      return w.get ? { ...route, get: true } : route;
    }
    case 'routed': {
      const routed = {
        type: 'routed' as const,
        rid: w.rid,
        owners: w.owners.map(id),
        path: w.path.map(id),
        predecessor: idOrNull(w.predecessor),
      };
      return w.values === undefined ? routed : { ...routed, values: w.values };
    }
    case 'state':
    case 'join-ack':
      return { type: w.type, rid: w.rid, predecessor: idOrNull(w.predecessor), successors: w.successors.map(id) };
    case 'attach-ack':
      return { type: 'attach-ack', rid: w.rid, ok: w.ok, successors: w.successors.map(id) };
    case 'successors':
      return { type: 'successors', successors: w.successors.map(id) };
    case 'leave':
      return { type: 'leave', predecessor: idOrNull(w.predecessor), successors: w.successors.map(id) };
    case 'dht-put':
      return w.kind === 'provider'
        ? { type: 'dht-put', rid: w.rid, kind: 'provider', key: id(w.key), ttlMs: w.ttlMs }
        : { type: 'dht-put', rid: w.rid, kind: 'name', key: id(w.key), value: w.value, ttlMs: w.ttlMs };
    case 'dht-get':
      return { type: 'dht-get', rid: w.rid, key: id(w.key) };
    case 'dht-put-reply':
      return { type: 'dht-put-reply', rid: w.rid, ok: w.ok };
    case 'dht-get-reply':
      return { type: 'dht-get-reply', rid: w.rid, values: w.values };
    case 'dht-store':
      return {
        type: 'dht-store',
        records: w.records.map((r) => ({ kind: r.kind, key: id(r.key), value: r.value, ttlMs: r.ttlMs })),
      };
  }
}
