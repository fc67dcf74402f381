// `kvbus/redis` — the Redis backend lands here (see the Redis issue); the entry
// is reserved so the exports map is stable from the first release.
export {};
