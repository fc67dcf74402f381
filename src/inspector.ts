// `kvbus/inspector`: a live page showing a store, served on node:http. It uses
// kvbus's public API only (src/inspector/ imports 'kvbus' by name).
export { type InspectOptions, type Inspector, inspect } from './inspector/inspect.js';
