export * from './config.js';
export * from './server.js';
export * from './swarm-registry.js';
export * from './traffic.js';
