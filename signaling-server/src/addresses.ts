/**
 * The addresses other machines can reach this server at, chosen from the interface list
 * (`os.networkInterfaces()`): loopback and link-local addresses left out (a link-local
 * address needs a zone that a URL cannot carry), IPv4 before IPv6, and virtual bridges
 * (Docker, libvirt, VirtualBox...) after the real interfaces, so the first address is the one
 * a share link should use. Pure: the interface list is an argument.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** One entry of `os.networkInterfaces()[name]`; older Node versions give the family as a number. */
export interface InterfaceAddress {
  address: string;
  family: string | number;
  internal: boolean;
}

/** The shape of `os.networkInterfaces()`. */
export type InterfaceList = Record<string, readonly InterfaceAddress[] | undefined>;

/** Interface names that are bridges to containers or virtual machines, not the machine's network. */
const VIRTUAL = /^(docker|br-|veth|virbr|vboxnet|vmnet|lxcbr|lxdbr|cni|flannel|podman|tap|tun|zt|utun)/;

function usableIPv4(address: string): boolean {
  const [a, b] = address.split('.').map(Number);
  if (a === 127 || a === 0) return false; // loopback, "this network"
  if (a === 169 && b === 254) return false; // link-local
  return a !== undefined && a < 224; // not multicast or reserved
}

function usableIPv6(address: string): boolean {
  const first = Number.parseInt(address.split(':')[0] || '0', 16);
  if (address === '::1' || address === '::') return false;
  if ((first & 0xffc0) === 0xfe80) return false; // link-local fe80::/10
  if ((first & 0xff00) === 0xff00) return false; // multicast
  return !/^::ffff:/i.test(address); // IPv4-mapped: the IPv4 entry covers it
}

/**
 * The non-loopback, non-link-local addresses of the machine in a stable order: IPv4 first,
 * then IPv6; within a family real interfaces before virtual ones, then by interface name and
 * address. `bindHost` narrows the list to what a server bound there can be reached at:
 * undefined or `::` (all interfaces) keeps both families, `0.0.0.0` IPv4 only, an address
 * itself only, a host name nothing (it cannot be told which addresses it stands for).
 */
export function reachableAddresses(interfaces: InterfaceList, bindHost?: string): string[] {
  const found: { address: string; v6: boolean; virtual: boolean; name: string }[] = [];
  const seen = new Set<string>();
  for (const [name, entries] of Object.entries(interfaces)) {
    for (const entry of entries ?? []) {
      if (entry.internal) continue;
      const address = entry.address.split('%')[0] ?? '';
      const v6 = entry.family === 'IPv6' || entry.family === 6;
      const usable = v6 ? isIPv6(address) && usableIPv6(address.toLowerCase()) : isIPv4(address) && usableIPv4(address);
      if (!usable || seen.has(address.toLowerCase())) continue;
      seen.add(address.toLowerCase());
      found.push({ address: v6 ? address.toLowerCase() : address, v6, virtual: VIRTUAL.test(name), name });
    }
  }
  found.sort(
    (x, y) =>
      Number(x.v6) - Number(y.v6) ||
      Number(x.virtual) - Number(y.virtual) ||
      (x.name < y.name ? -1 : x.name > y.name ? 1 : 0) ||
      (x.address < y.address ? -1 : x.address > y.address ? 1 : 0),
  );
  const all = found.map((f) => f.address);
  if (bindHost === undefined || bindHost === '' || bindHost === '::') return all;
  if (bindHost === '0.0.0.0') return all.filter((a) => isIPv4(a));
  if (isIPv4(bindHost)) return usableIPv4(bindHost) ? [bindHost] : [];
  if (isIPv6(bindHost)) return usableIPv6(bindHost.toLowerCase()) ? [bindHost.toLowerCase()] : [];
  return [];
}

/** An address as the host part of a URL: IPv6 in brackets. */
export function urlHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/** `scheme://address:port` for each address, in order. */
export function originsOf(scheme: 'http' | 'https', addresses: readonly string[], port: number): string[] {
  return addresses.map((a) => `${scheme}://${urlHost(a)}:${port}`);
}
