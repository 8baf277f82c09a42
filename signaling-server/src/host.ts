/**
 * Host names and the HTTP Host header: what a certificate may name, and what host a page
 * reached this server at. The header comes from the client, so it is checked, never trusted.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** A DNS name: dot-separated labels of letters, digits and inner hyphens (RFC 1123). */
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/;

/** True for a lower-case DNS name (a trailing dot allowed). */
export function isDnsName(name: string): boolean {
  return DNS_NAME.test(name);
}

/**
 * The host part of an HTTP Host header, ready for a URL (IPv6 in brackets), or undefined
 * when the header is missing or is not a plain host name, IPv4 or bracketed IPv6 address
 * with an optional port.
 */
export function hostFromHeader(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::\d{1,5})?$/.exec(header);
  if (bracketed)
    return bracketed[1] !== undefined && isIPv6(bracketed[1]) ? `[${bracketed[1].toLowerCase()}]` : undefined;
  const plain = /^([^:]+)(?::\d{1,5})?$/.exec(header)?.[1]?.toLowerCase();
  if (plain === undefined) return undefined;
  return isIPv4(plain) || DNS_NAME.test(plain) ? plain : undefined;
}
