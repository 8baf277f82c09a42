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

/** An HTTP Host header, checked: the host ready for a URL (IPv6 in brackets) and the port, if one was given. */
export interface HostHeader {
  host: string;
  /** 1 to 65535; undefined when the header names no port (the scheme's default). */
  port: number | undefined;
}

/**
 * Reads an HTTP Host header: undefined when it is missing or is not a plain host name, IPv4
 * or bracketed IPv6 address with an optional port from 1 to 65535.
 */
export function parseHostHeader(header: string | undefined): HostHeader | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(header);
  if (!match) return undefined;
  const [, v6, name, portText] = match;
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  if (v6 !== undefined) return isIPv6(v6) ? { host: `[${v6.toLowerCase()}]`, port } : undefined;
  const plain = name?.toLowerCase();
  return plain !== undefined && (isIPv4(plain) || DNS_NAME.test(plain)) ? { host: plain, port } : undefined;
}

/** The host part of an HTTP Host header, ready for a URL (see {@link parseHostHeader}). */
export function hostFromHeader(header: string | undefined): string | undefined {
  return parseHostHeader(header)?.host;
}
