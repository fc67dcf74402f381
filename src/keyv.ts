// `kvbus/keyv`: a Keyv storage adapter. keyv is an optional peer dependency;
// this entry uses only its types, and kvbus's public API.
export { KeyvKvbus, type KeyvKvbusOptions, type KeyvKvbusOpts } from './adapters/keyv-kvbus.js';
