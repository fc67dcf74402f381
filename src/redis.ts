// `kvbus/redis`: the Redis backend. node-redis (the `redis` package) is an
// optional peer dependency, loaded only by this entry.

export type { Client as RedisClient } from './backends/redis/options.js';
export { type RedisBackendOptions, redisBackend } from './backends/redis/redis-backend.js';
export { jsonSerializer, type Serializer, v8Serializer } from './backends/redis/serializer.js';
