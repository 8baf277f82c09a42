export * from './commands/index.js';
export * from './deferred-store.js';
export * from './files.js';
export * from './fs-piece-store.js';
export * from './ice.js';
export * from './wrtc.js';
