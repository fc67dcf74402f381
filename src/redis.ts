// `kvbus/redis`: the Redis backend. node-redis (the `redis` package) is an
// optional peer dependency, loaded only by this entry.
export { redisBackend, type RedisBackendOptions } from './backends/redis.js';
export { jsonSerializer, v8Serializer, type Serializer } from './backends/serializer.js';
