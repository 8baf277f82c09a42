/**
 * The signaling server's `GET /api/addresses` answer: the origins other machines can reach
 * it by, e.g. `{"origins": ["http://192.168.1.20:8080", "http://[2001:db8::20]:8080"]}`.
 * The server builds it; a page reads it with {@link addressesOf}, which keeps the well-formed
 * entries of an untrusted answer and drops the rest (one odd entry must not cost the others).
 */
import { z } from 'zod';

/** A bare http(s) origin (no path, query, fragment or credentials), as `URL.origin` writes it. */
export const OriginSchema = z.string().transform((text, ctx): string => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not a URL' });
    return z.NEVER;
  }
  const bare =
    !url.username && !url.password && !url.search && !url.hash && (url.pathname === '/' || url.pathname === '');
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !bare) {
    ctx.addIssue({ code: 'custom', message: 'not a bare http(s) origin' });
    return z.NEVER;
  }
  return url.origin;
});

/** The body of GET /api/addresses. */
export const AddressesAnswerSchema = z.object({ origins: z.array(OriginSchema) });

export type AddressesAnswer = z.infer<typeof AddressesAnswerSchema>;

const AddressesEnvelopeSchema = z.object({ origins: z.array(z.unknown()) });

/**
 * The well-formed origins of an untrusted `/api/addresses` body, in its order, without
 * duplicates; an empty list when the body is no such answer. Never throws.
 */
export function addressesOf(body: unknown): string[] {
  const envelope = AddressesEnvelopeSchema.safeParse(body);
  if (!envelope.success) return [];
  const out: string[] = [];
  for (const entry of envelope.data.origins) {
    const origin = OriginSchema.safeParse(entry);
    if (origin.success && !out.includes(origin.data)) out.push(origin.data);
  }
  return out;
}
