import { describeIssues, ErrorCode, ScrapeRequestSchema, type SwarmCounts } from '@ringswarm/shared/protocol';
import { errorAck, type Handler } from './context.js';

const NONE: SwarmCounts = { complete: 0, incomplete: 0, downloaded: 0 };

/** `scrape`: seeders, leechers and completed downloads of each named swarm; zeros for a blocked one. */
export const scrape: Handler = async (ctx, _peerId, payload) => {
  const parsed = ScrapeRequestSchema.safeParse(payload);
  if (!parsed.success) return errorAck(ErrorCode.INVALID_PAYLOAD, describeIssues(parsed.error));
  const files: Record<string, SwarmCounts> = {};
  const counts = await Promise.all(
    parsed.data.discoveryKeys.map((key) => (ctx.isBlocked(key) ? NONE : ctx.registry.counts(key))),
  );
  parsed.data.discoveryKeys.forEach((key, i) => {
    files[key] = { ...counts[i]! };
  });
  return { ok: true, files };
};
