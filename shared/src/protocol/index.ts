/**
 * `@ringswarm/shared/protocol`: the pure protocol surface (tracker events and their schemas,
 * error codes, IDs, discovery keys and capability proofs, links, the frame registry, the /api/ice and /api/addresses answers, the /api/report request, reconnect backoff). The
 * signaling server imports only this, so it never loads simple-peer or socket.io-client.
 */
export * from '../util/backoff.js';
export * from './addresses.js';
export * from './capability.js';
export * from './errors.js';
export * from './frames.js';
export * from './ice.js';
export * from './identity.js';
export * from './ids.js';
export * from './link.js';
export * from './report.js';
export * from './signal-envelope.js';
export * from './tracker.js';
export * from './tracker-auth.js';
