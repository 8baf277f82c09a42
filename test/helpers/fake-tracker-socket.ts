import type { CreateTrackerSocket, TrackerSocket } from '@ringswarm/shared';

type Handler = (...args: unknown[]) => void;

/**
 * The part of a socket.io client socket that TrackerClient uses. The test fires its events
 * (`fire`) and says what the tracker acknowledges (`answer`); what the client emitted is in
 * `emitted`.
 */
export class FakeTrackerSocket {
  connected = false;
  disconnected = false;
  /** Events the client emitted, with their payloads and whether an ack was asked for, in order. */
  readonly emitted: { event: string; payload: unknown; ack: boolean }[] = [];
  readonly #handlers = new Map<string, Handler[]>();

  constructor(
    readonly url: string,
    readonly options: Record<string, unknown>,
    /** The tracker's acknowledgement of an event; default `{ ok: true }`. */
    public answer: (event: string, payload: unknown) => unknown = () => ({ ok: true }),
  ) {}

  on(event: string, handler: Handler): this {
    this.#handlers.set(event, [...(this.#handlers.get(event) ?? []), handler]);
    return this;
  }

  removeAllListeners(): this {
    this.#handlers.clear();
    return this;
  }

  disconnect(): this {
    this.connected = false;
    this.disconnected = true;
    return this;
  }

  timeout(_ms: number): { emitWithAck(event: string, payload: unknown): Promise<unknown> } {
    return {
      emitWithAck: async (event, payload) => {
        this.emitted.push({ event, payload, ack: true });
        return this.answer(event, payload);
      },
    };
  }

  /** An event sent without an ack: nothing is answered. */
  emit(event: string, payload: unknown): this {
    this.emitted.push({ event, payload, ack: false });
    return this;
  }

  fire(event: string, ...args: unknown[]): void {
    if (event === 'connect') this.connected = true;
    for (const h of this.#handlers.get(event) ?? []) h(...args);
  }
}

/** A {@link CreateTrackerSocket} that makes FakeTrackerSockets and keeps them, newest last. */
export class FakeTrackerSockets {
  readonly made: FakeTrackerSocket[] = [];

  constructor(readonly answer?: (event: string, payload: unknown) => unknown) {}

  readonly create: CreateTrackerSocket = (url, options) => {
    const socket = new FakeTrackerSocket(url, { ...options }, this.answer);
    this.made.push(socket);
    // The fake has only the members TrackerClient uses.
    return socket as unknown as TrackerSocket;
  };

  get last(): FakeTrackerSocket {
    const socket = this.made.at(-1);
    if (!socket) throw new Error('no tracker socket was opened');
    return socket;
  }
}
