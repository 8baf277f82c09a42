/**
 * What the operator of a server controls and hears about: the admin token that unlocks
 * per-swarm figures in /api/stats, the counters of refused announces and of reports, and the
 * `POST /api/report` endpoint (rate-limited per source address and overall).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeIssues, ErrorCode, MAX_REPORT_BODY_BYTES, ReportRequestSchema } from '@ringswarm/shared/protocol';
import type { Logger } from 'pino';
import { TokenBucket } from './rate-limit.js';

/** Hex digits of a discovery key shown to the operator: enough to tell swarms apart. */
export const SWARM_PREFIX_HEX = 12;

export const swarmPrefix = (discoveryKey: string) => discoveryKey.slice(0, SWARM_PREFIX_HEX);

/** Counts for /metrics. */
export class OperatorCounter {
  /** Announces refused because the share is on the deny list. */
  blockedAnnounces = 0;
  /** Reports accepted. */
  reports = 0;
  /** Reports refused, by reason. */
  readonly reportsRefused: { rate: number; invalid: number } = { rate: 0, invalid: 0 };
}

/** How an `Authorization` header stands against the admin token. */
export type AdminAccess = 'none' | 'admin' | 'denied';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * `none` without an `Authorization` header; `admin` for `Bearer <token>` with the configured
 * token (compared in constant time: both sides are hashed first, so even their lengths do not
 * show); `denied` for anything else, including any header while no token is configured.
 */
export function adminAccess(header: string | undefined, token: string | undefined): AdminAccess {
  if (header === undefined) return 'none';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1] || token === undefined || token === '') return 'denied';
  return timingSafeEqual(digest(match[1]), digest(token)) ? 'admin' : 'denied';
}

export interface ReportLimits {
  /** Reports one source address may make per minute (and in a burst). Default 5. */
  perAddressPerMinute: number;
  /** Reports the whole server takes per minute (and in a burst). Default 60. */
  globalPerMinute: number;
  /** Source addresses remembered; the longest-idle one is forgotten past this. Default 10,000. */
  maxAddresses: number;
}

export const DEFAULT_REPORT_LIMITS: ReportLimits = {
  perAddressPerMinute: 5,
  globalPerMinute: 60,
  maxAddresses: 10_000,
};

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
    .end(JSON.stringify(body));
}

/** Reads the body, at most `limit` bytes; resolves null once it is known to be larger. */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return resolve(null);
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        // Drain the rest unread; the answer closes the connection.
        req.resume();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

export interface ReportEndpointDeps {
  logger: Logger;
  counter: OperatorCounter;
  now: () => number;
  limits?: Partial<ReportLimits>;
}

/** The `POST /api/report` handler. */
export function reportEndpoint(deps: ReportEndpointDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { logger, counter, now } = deps;
  const limits = { ...DEFAULT_REPORT_LIMITS, ...deps.limits };
  const perSecond = (perMinute: number) => perMinute / 60;
  const global = new TokenBucket(perSecond(limits.globalPerMinute), limits.globalPerMinute, now);
  /** Source address -> its bucket, least recently used first. */
  const buckets = new Map<string, TokenBucket>();
  const bucketOf = (address: string) => {
    let bucket = buckets.get(address);
    if (bucket) buckets.delete(address);
    else {
      bucket = new TokenBucket(perSecond(limits.perAddressPerMinute), limits.perAddressPerMinute, now);
      if (buckets.size >= limits.maxAddresses) {
        const oldest = buckets.keys().next();
        if (!oldest.done) buckets.delete(oldest.value);
      }
    }
    buckets.set(address, bucket);
    return bucket;
  };
  const refuse = (res: ServerResponse, status: number, code: ErrorCode, message: string, headers = {}) => {
    counter.reportsRefused[status === 429 ? 'rate' : 'invalid']++;
    json(res, status, { ok: false, code, message }, headers);
  };

  return (req, res) => {
    if (req.method !== 'POST') {
      req.resume();
      counter.reportsRefused.invalid++;
      json(res, 405, { ok: false, code: ErrorCode.NOT_ALLOWED, message: 'use POST' }, { allow: 'POST' });
      return;
    }
    const address = req.socket.remoteAddress ?? 'unknown';
    // The address's own bucket first: one flooding address cannot drain the global one.
    if (!bucketOf(address).take() || !global.take()) {
      req.resume();
      refuse(res, 429, ErrorCode.RATE_LIMITED, 'too many reports, try again in a minute', { 'retry-after': '60' });
      return;
    }
    readBody(req, MAX_REPORT_BODY_BYTES).then(
      (body) => {
        if (body === null) {
          const message = `a report is at most ${MAX_REPORT_BODY_BYTES} bytes`;
          refuse(res, 413, ErrorCode.PAYLOAD_TOO_LARGE, message, { connection: 'close' });
          return;
        }
        let value: unknown;
        try {
          value = JSON.parse(body);
        } catch {
          refuse(res, 400, ErrorCode.INVALID_PAYLOAD, 'the body must be JSON');
          return;
        }
        const parsed = ReportRequestSchema.safeParse(value);
        if (!parsed.success) {
          refuse(res, 400, ErrorCode.INVALID_PAYLOAD, describeIssues(parsed.error));
          return;
        }
        counter.reports++;
        const { discoveryKey, reason } = parsed.data;
        logger.warn({ share: swarmPrefix(discoveryKey), discoveryKey, reason }, 'share reported');
        json(res, 202, { ok: true });
      },
      (err: unknown) => {
        logger.debug({ err: String(err) }, 'report body failed');
        if (!res.headersSent) refuse(res, 400, ErrorCode.INVALID_PAYLOAD, 'the body could not be read');
      },
    );
  };
}
