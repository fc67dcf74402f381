// `kvbus/unstorage`: an unstorage driver. unstorage is an optional peer
// dependency; this entry uses only its types, and kvbus's public API.
export { type KvbusDriverOptions, kvbusDriver } from './adapters/unstorage-driver.js';
