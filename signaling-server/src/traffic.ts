/**
 * Byte accounting: what peers sent the server per event type, what it relayed, and the
 * raw transport bytes both ways. This is how a test proves that no file byte went through
 * the server.
 */
export class TrafficCounter {
  /** Payload bytes received, per event type. */
  readonly inbound: Record<string, number> = {};
  /** Payload bytes forwarded to another peer, per event type. */
  readonly relayed: Record<string, number> = {};
  transportIn = 0;
  transportOut = 0;

  addInbound(event: string, bytes: number): void {
    this.inbound[event] = (this.inbound[event] ?? 0) + bytes;
  }

  addRelayed(event: string, bytes: number): void {
    this.relayed[event] = (this.relayed[event] ?? 0) + bytes;
  }

  toJSON() {
    return {
      inbound: { ...this.inbound },
      relayed: { ...this.relayed },
      transportIn: this.transportIn,
      transportOut: this.transportOut,
    };
  }
}

/** Size in bytes of a payload as it crosses the wire (JSON, UTF-8). */
export function jsonBytes(value: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(value) ?? '');
  } catch {
    return 0;
  }
}

/** Size of one engine.io packet's data. */
export function packetBytes(data: unknown): number {
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}
