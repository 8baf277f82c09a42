/**
 * `POST /api/report`: anyone holding a link may tell the operator of a server about a share,
 * by its discovery key (never the infohash) and a short reason. The page and the server both
 * validate with {@link ReportRequestSchema}.
 */
import { z } from 'zod';
import { DiscoveryKeySchema } from './ids.js';

/** Longest reason accepted, in characters. */
export const MAX_REPORT_REASON_CHARS = 500;
/** Largest request body the endpoint reads, in bytes; a larger one is refused with 413. */
export const MAX_REPORT_BODY_BYTES = 4 * 1024;

export const ReportRequestSchema = z.strictObject({
  /** The reported share, by its discovery key. */
  discoveryKey: DiscoveryKeySchema,
  /** Why, in the reporter's words. */
  reason: z.string().trim().min(1, 'reason must not be empty').max(MAX_REPORT_REASON_CHARS),
});
export type ReportRequest = z.infer<typeof ReportRequestSchema>;
