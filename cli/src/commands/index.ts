export * from './common.js';
export * from './get.js';
export * from './ring.js';
export * from './search.js';
export * from './seed.js';
