export * from './fs-piece-store.js';
