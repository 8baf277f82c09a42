import { describeIssues, ErrorCode, ScrapeRequestSchema, type SwarmCounts } from '@ringswarm/shared';
import { errorAck, type Handler } from './context.js';

/** `scrape`: seeders, leechers and completed downloads of each named swarm. */
export const scrape: Handler = (ctx, _peerId, payload) => {
  const parsed = ScrapeRequestSchema.safeParse(payload);
  if (!parsed.success) return errorAck(ErrorCode.INVALID_PAYLOAD, describeIssues(parsed.error));
  const files: Record<string, SwarmCounts> = {};
  for (const infoHash of parsed.data.infoHashes) files[infoHash] = ctx.registry.counts(infoHash);
  return { ok: true, files };
};
