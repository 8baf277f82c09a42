import { randomBytes } from 'node:crypto';
import { type Ack, type AnnounceResult, type PeerIdentity, randomIdentity } from '@ringswarm/shared';
import { io, type Socket } from 'socket.io-client';
import { signedAuth } from './signed-auth.js';

export const randomPeerId = () => randomBytes(20).toString('hex');
export const randomInfoHash = () => randomBytes(32).toString('hex');

/** Raw socket.io clients against a tracker URL, closed together by `closeAll`. */
export class SocketPool {
  readonly sockets: Socket[] = [];

  /** @param now the clock proofs are signed with (a server on a fake clock checks them with its own) */
  constructor(
    readonly url: string,
    readonly now: () => number = Date.now,
  ) {}

  /** A socket with this `auth` (an object sent as is, or a function socket.io calls per connect). */
  open(auth: unknown): Socket {
    const socket = io(this.url, { auth: auth as object, transports: ['websocket'], reconnection: false });
    this.sockets.push(socket);
    return socket;
  }

  /**
   * Connects a peer that proves `identity`'s key (a fresh proof per connect, as the real client
   * does) and waits until the server accepts it. `hello` is the tracker's first event.
   */
  async peer(
    identity: PeerIdentity = randomIdentity(),
  ): Promise<{ id: string; socket: Socket; identity: PeerIdentity; hello: Promise<unknown> }> {
    const socket = this.open((send: (auth: object) => void) => {
      void signedAuth(identity, this.now()).then(send);
    });
    // Listened for before the connection is up: the tracker sends it first.
    const hello = new Promise<unknown>((resolve) => socket.once('hello', resolve));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return { id: identity.peerId, socket, identity, hello };
  }

  /** Resolves with the refusal's message and code; rejects if the server accepts. */
  refused(auth: unknown): Promise<{ message: string; code: string | undefined }> {
    const socket = this.open(auth);
    return new Promise((resolve, reject) => {
      socket.once('connect', () => reject(new Error('connection was accepted')));
      socket.once('connect_error', (err: Error & { data?: { code?: string } }) =>
        resolve({ message: err.message, code: err.data?.code }),
      );
    });
  }

  closeAll(): void {
    for (const s of this.sockets.splice(0)) s.disconnect();
  }
}

export const emit = (socket: Socket, event: string, payload: unknown, ms = 5_000) =>
  socket.timeout(ms).emitWithAck(event, payload) as Promise<Ack<Record<string, unknown>>>;

export const announce = (socket: Socket, discoveryKey: string, left: number | null, event = 'started') =>
  emit(socket, 'announce', { discoveryKey, event, left, uploaded: 0, downloaded: 0, numwant: 50 }) as Promise<
    Ack<AnnounceResult>
  >;

/** The admin token the tests' servers run with (`--admin-token`, `adminToken`). */
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** Where the admin's /api/stats lists a swarm: the first 12 hex digits of its discovery key. */
export const swarmPrefix = (discoveryKey: string) => discoveryKey.slice(0, 12);

/** /api/stats as the admin sees it (with `perSwarm`). */
export async function adminStats(url: string, token = ADMIN_TOKEN): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/api/stats`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`admin /api/stats answered ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

/** One swarm's counts from the admin's /api/stats; undefined while it is not listed. */
export async function swarmCounts(url: string, discoveryKey: string, token = ADMIN_TOKEN): Promise<unknown> {
  const perSwarm = (await adminStats(url, token)).perSwarm as Record<string, unknown> | undefined;
  return perSwarm?.[swarmPrefix(discoveryKey)];
}
