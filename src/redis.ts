// `kvbus/redis`: the Redis backend. node-redis (the `redis` package) is an
// optional peer dependency, loaded only by this entry.
export { type RedisBackendOptions, redisBackend } from './backends/redis/redis-backend.js';
export { jsonSerializer, type Serializer, v8Serializer } from './backends/redis/serializer.js';
