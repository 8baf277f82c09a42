export * from './config.js';
export * from './rate-limit.js';
export * from './ring-members.js';
export * from './run.js';
export * from './server.js';
export * from './swarm-registry.js';
export * from './traffic.js';
