/**
 * ICE servers handed to peers (GET /api/ice). STUN needs no secret; TURN credentials are
 * minted per request with the TURN REST API scheme that coturn checks with
 * `use-auth-secret` + `static-auth-secret`: the username is `<expiry unix seconds>:<label>`
 * and the password is base64(HMAC-SHA1(secret, username)). No static password reaches a page,
 * and a leaked credential stops working at its expiry.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { IceAnswer, IceServer } from '@ringswarm/shared/protocol';
import { hostFromHeader } from './host.js';

export interface IceSettings {
  stunUrls: readonly string[];
  turnUrls: readonly string[];
  /** The secret shared with coturn (`static-auth-secret`); required when turnUrls is not empty. */
  turnSecret: string | undefined;
  /** Lifetime of TURN credentials in seconds. */
  turnTtlS: number;
}

/** A TURN REST API credential pair for `label`, valid until `expiresAtS` (unix seconds). */
export function turnCredential(
  secret: string,
  label: string,
  expiresAtS: number,
): { username: string; credential: string } {
  const username = `${expiresAtS}:${label}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/** A label for the credential: the peer ID the client gave, else random (it only names the user in coturn's logs). */
export function credentialLabel(peer: string | null): string {
  return peer !== null && /^[0-9a-f]{40}$/.test(peer) ? peer : randomBytes(8).toString('hex');
}

/** The built-in STUN server as the page reached this server: `stun:<host>:<port>`. */
export function builtInStunUrl(hostHeader: string | undefined, stunPort: number): string | undefined {
  const host = hostFromHeader(hostHeader);
  return host === undefined ? undefined : `stun:${host}:${stunPort}`;
}

/**
 * The ICE servers for one request, with fresh TURN credentials. `builtInStun` (the
 * server's own STUN responder, see {@link builtInStunUrl}) comes first.
 */
export function iceAnswer(settings: IceSettings, label: string, nowMs: number, builtInStun?: string): IceAnswer {
  const iceServers: IceServer[] = [];
  if (builtInStun !== undefined) iceServers.push({ urls: [builtInStun] });
  if (settings.stunUrls.length > 0) iceServers.push({ urls: [...settings.stunUrls] });
  if (settings.turnUrls.length > 0 && settings.turnSecret !== undefined) {
    const expires = Math.floor(nowMs / 1000) + settings.turnTtlS;
    iceServers.push({ urls: [...settings.turnUrls], ...turnCredential(settings.turnSecret, label, expires) });
    return { iceServers, ttl: settings.turnTtlS };
  }
  return { iceServers, ttl: 0 };
}
