/**
 * Event and byte accounting: events per type, errors per code, bytes relayed per event
 * type, and the raw socket bytes both ways. /api/stats and /metrics both read it; it is how
 * a test proves that no file byte went through the server.
 */
export class TrafficCounter {
  /** Inbound events accepted for handling, per event type. */
  readonly events: Record<string, number> = {};
  /** Error answers and refusals, per error code. */
  readonly errors: Record<string, number> = {};
  /** Payload bytes forwarded to another peer, per event type. */
  readonly relayed: Record<string, number> = {};
  transportIn = 0;
  transportOut = 0;

  addEvent(event: string): void {
    this.events[event] = (this.events[event] ?? 0) + 1;
  }

  addError(code: string): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }

  addRelayed(event: string, bytes: number): void {
    this.relayed[event] = (this.relayed[event] ?? 0) + bytes;
  }

  toJSON() {
    return {
      events: { ...this.events },
      errors: { ...this.errors },
      relayed: { ...this.relayed },
      transportIn: this.transportIn,
      transportOut: this.transportOut,
    };
  }
}

/** Size in bytes of a payload as it crosses the wire (JSON, UTF-8); -1 if it cannot be encoded. */
export function jsonBytes(value: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(value) ?? '');
  } catch {
    return -1;
  }
}

/** Size of one engine.io packet's data. */
export function packetBytes(data: unknown): number {
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}
