/**
 * ICE servers handed to peers. `GET /api/ice` answers STUN entries only, to anyone; TURN
 * credentials go only to a connected peer over its socket (the `ice` event,
 * ./handlers/ice.ts), labelled with its bound peer ID. They are minted per request with the
 * TURN REST API scheme that coturn checks with
 * `use-auth-secret` + `static-auth-secret`: the username is `<expiry unix seconds>:<label>`
 * and the password is base64(HMAC-SHA1(secret, username)). No static password reaches a page,
 * and a leaked credential stops working at its expiry.
 */
import { createHmac } from 'node:crypto';
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

/** The built-in STUN server as the page reached this server: `stun:<host>:<port>`. */
export function builtInStunUrl(hostHeader: string | undefined, stunPort: number): string | undefined {
  const host = hostFromHeader(hostHeader);
  return host === undefined ? undefined : `stun:${host}:${stunPort}`;
}

/**
 * The STUN servers: `builtInStun` (the server's own STUN responder, see
 * {@link builtInStunUrl}) first, then the configured ones. Never a credential: this is what
 * `GET /api/ice` answers anyone.
 */
export function stunAnswer(settings: IceSettings, builtInStun?: string): IceAnswer {
  const iceServers: IceServer[] = [];
  if (builtInStun !== undefined) iceServers.push({ urls: [builtInStun] });
  if (settings.stunUrls.length > 0) iceServers.push({ urls: [...settings.stunUrls] });
  return { iceServers, ttl: 0 };
}

/**
 * The ICE servers for one connected peer: the STUN servers of {@link stunAnswer}, then TURN
 * with fresh credentials labelled `peerId` (the socket's bound, proven ID) when TURN is set up.
 */
export function iceAnswer(settings: IceSettings, peerId: string, nowMs: number, builtInStun?: string): IceAnswer {
  const { iceServers } = stunAnswer(settings, builtInStun);
  if (settings.turnUrls.length > 0 && settings.turnSecret !== undefined) {
    const expires = Math.floor(nowMs / 1000) + settings.turnTtlS;
    iceServers.push({ urls: [...settings.turnUrls], ...turnCredential(settings.turnSecret, peerId, expires) });
    return { iceServers, ttl: settings.turnTtlS };
  }
  return { iceServers, ttl: 0 };
}
