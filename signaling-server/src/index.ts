export * from './addresses.js';
export * from './cluster.js';
export * from './config.js';
export * from './deny-list.js';
export {
  ICE_ADDRESS_BURST,
  ICE_PER_ADDRESS_PER_S,
  ICE_PER_SOCKET_PER_S,
  ICE_SOCKET_BURST,
} from './handlers/ice.js';
export { SIGNAL_TARGET_BURST, SIGNALS_PER_TARGET_PER_S } from './handlers/signal.js';
export * from './handshake-guard.js';
export * from './host.js';
export * from './http-headers.js';
export * from './ice.js';
export * from './introductions.js';
export * from './ip-limits.js';
export * from './keyed-rate-limit.js';
export * from './operator.js';
export * from './rate-limit.js';
export * from './redis-introductions.js';
export * from './redis-registry.js';
export * from './ring-members.js';
export * from './run.js';
export * from './server.js';
export * from './stats-cache.js';
export * from './stun/message.js';
export * from './stun/responder.js';
export * from './swarm-registry.js';
export * from './tls.js';
export * from './tracker.js';
export * from './traffic.js';
