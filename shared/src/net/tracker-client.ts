/**
 * The client side of the tracker protocol, over socket.io-client. The only client module
 * that imports socket.io. Inbound events are validated like the server validates its own.
 */
import { io, type Socket } from 'socket.io-client';
import { Emitter } from '../emitter.js';
import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import {
  type Ack,
  type AnnounceRequest,
  type AnnounceResult,
  type ClientToServerEvents,
  PROTOCOL_VERSION,
  type RelayedSignal,
  RelayedSignalSchema,
  type ServerToClientEvents,
} from '../protocol/tracker.js';

/** How long to wait for the tracker to acknowledge an event. */
export const ACK_TIMEOUT_MS = 10_000;

export interface TrackerClientOptions {
  /** Default {@link ACK_TIMEOUT_MS}. */
  ackTimeoutMs?: number;
}

export type TrackerClientEvents = {
  signal: [msg: RelayedSignal];
  connect: [];
  disconnect: [reason: string];
  /** The tracker refused the connection (e.g. `ERR_DUPLICATE_PEER_ID`). */
  error: [error: RingswarmError];
};

export class TrackerClient extends Emitter<TrackerClientEvents> {
  readonly url: string;
  readonly peerId: string;
  #socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  #ackTimeoutMs: number;
  #destroyed = false;

  constructor(url: string, peerId: string, options: TrackerClientOptions = {}) {
    super();
    this.url = url;
    this.peerId = peerId;
    this.#ackTimeoutMs = options.ackTimeoutMs ?? ACK_TIMEOUT_MS;
    // WebSocket only: no long-polling, so no sticky sessions are needed behind a load balancer.
    this.#socket = io(url, { auth: { peerId, version: PROTOCOL_VERSION }, transports: ['websocket'] });
    this.#socket.on('signal', (raw: unknown) => {
      if (this.#destroyed) return;
      const parsed = RelayedSignalSchema.safeParse(raw);
      if (parsed.success) this.emit('signal', parsed.data);
    });
    this.#socket.on('connect', () => {
      if (!this.#destroyed) this.emit('connect');
    });
    this.#socket.on('disconnect', (reason) => {
      if (!this.#destroyed) this.emit('disconnect', reason);
    });
    this.#socket.on('connect_error', (err: Error & { data?: { code?: string } }) => {
      if (this.#destroyed) return;
      const code = err.data?.code;
      if (code) this.emit('error', new RingswarmError(code as ErrorCode, err.message));
    });
  }

  get connected(): boolean {
    return this.#socket.connected;
  }

  announce(req: AnnounceRequest): Promise<AnnounceResult> {
    return this.#call('announce', req);
  }

  async signal(to: string, data: Record<string, unknown>): Promise<void> {
    await this.#call('signal', { to, data });
  }

  async #call<K extends keyof ClientToServerEvents>(
    event: K,
    payload: Parameters<ClientToServerEvents[K]>[0],
  ): Promise<Omit<Extract<Parameters<Parameters<ClientToServerEvents[K]>[1]>[0], { ok: true }>, 'ok'>> {
    if (this.#destroyed) throw new RingswarmError(ErrorCode.TIMEOUT, 'tracker client destroyed');
    let res: Ack<object>;
    try {
      // biome-ignore lint/suspicious/noExplicitAny: socket.io's overloads cannot be narrowed by a generic key
      res = await (this.#socket.timeout(this.#ackTimeoutMs) as any).emitWithAck(event, payload);
    } catch {
      throw new RingswarmError(ErrorCode.TIMEOUT, `tracker did not answer ${event} within ${this.#ackTimeoutMs} ms`);
    }
    if (!res.ok) throw new RingswarmError(res.code, res.message);
    const { ok: _ok, ...rest } = res;
    return rest as never;
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#socket.removeAllListeners();
    this.#socket.disconnect();
    this.removeAllListeners();
  }
}
