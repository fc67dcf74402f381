// The Lua scripts of the Redis backend. Every write that other processes must
// hear of runs as one script: the check (compare-and-set, type), the write, the
// store-wide revision and the change event are one atomic step in Redis.
//
// Layout, for a namespace `ns` (with `%` and `:` percent-encoded, so that no
// namespace's keys fall under another's prefix):  `ns:k:<key>` a hash { t, v, r } (type tag,
// value, revision) · `ns:rev` the revision counter · `ns:t:<key>` marks a key
// with a TTL, so that exactly one process announces its expiry · `ns:changes`
// the change events · `ns:c:<channel>` the published channels.
//
// A change event is `op \n revision \n byte length of key \n key [t v]`.

/** KEYS: data, rev, ttl mark · ARGV: t, v, ttlMs|'', ifRevision|'', keepTtl '1'|'', changes channel, key */
export const SET = `
local cur = redis.call('HGET', KEYS[1], 'r')
if ARGV[4] ~= '' and (cur or '0') ~= ARGV[4] then
  return redis.error_reply('KVBUS_CONFLICT ' .. (cur or '0'))
end
local rev = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 't', ARGV[1], 'v', ARGV[2], 'r', rev)
if ARGV[3] ~= '' then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('SET', KEYS[3], rev)
elseif ARGV[5] ~= '1' then
  redis.call('PERSIST', KEYS[1])
  redis.call('DEL', KEYS[3])
end
redis.call('PUBLISH', ARGV[6], 's\\n' .. rev .. '\\n' .. #ARGV[7] .. '\\n' .. ARGV[7] .. ARGV[1] .. ARGV[2])
return rev
`;

/** KEYS: data, rev, ttl mark · ARGV: ifRevision|'', changes channel, key */
export const DELETE = `
local cur = redis.call('HGET', KEYS[1], 'r')
if ARGV[1] ~= '' and (cur or '0') ~= ARGV[1] then
  return redis.error_reply('KVBUS_CONFLICT ' .. (cur or '0'))
end
if not cur then return 0 end
redis.call('DEL', KEYS[1], KEYS[3])
local rev = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[2], 'd\\n' .. rev .. '\\n' .. #ARGV[3] .. '\\n' .. ARGV[3])
return 1
`;

/** KEYS: data, rev · ARGV: by, changes channel, key. Keeps the TTL (HSET does). */
export const INCR = `
local h = redis.call('HMGET', KEYS[1], 't', 'v')
local n = 0
if h[1] then
  if h[1] ~= 'n' then return redis.error_reply('KVBUS_TYPE ' .. h[1]) end
  n = tonumber(h[2])
end
n = n + tonumber(ARGV[1])
local s = string.format('%.17g', n)
local rev = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 't', 'n', 'v', s, 'r', rev)
redis.call('PUBLISH', ARGV[2], 's\\n' .. rev .. '\\n' .. #ARGV[3] .. '\\n' .. ARGV[3] .. 'n' .. s)
return s
`;

/**
 * KEYS: data, rev, ttl mark · ARGV: changes channel, key. Run by every process
 * that hears Redis expire the key; the one that removes the mark announces it.
 */
export const EXPIRED = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('DEL', KEYS[3]) == 0 then return 0 end
local rev = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[1], 'e\\n' .. rev .. '\\n' .. #ARGV[2] .. '\\n' .. ARGV[2])
return rev
`;

/** KEYS: rev · ARGV: data glob, ttl-mark glob, changes channel. SCAN, never KEYS. */
export const CLEAR = `
for _, pattern in ipairs({ ARGV[1], ARGV[2] }) do
  local cursor = '0'
  repeat
    local page = redis.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = page[1]
    local keys = page[2]
    for i = 1, #keys, 500 do
      redis.call('UNLINK', unpack(keys, i, math.min(i + 499, #keys)))
    end
  until cursor == '0'
end
local rev = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[3], 'c\\n' .. rev .. '\\n1\\n*')
return rev
`;

/**
 * KEYS: rev · ARGV: the highest revision this process has seen. After Redis
 * lost its data (a restart without persistence) the counter would start again
 * at 1; every process that reconnects puts it back past what it has seen, so
 * a key's revision does not go back.
 */
export const RAISE_REVISION = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local seen = tonumber(ARGV[1])
if current < seen then redis.call('SET', KEYS[1], ARGV[1]) return seen end
return current
`;

/** The scripts by name. */
export const SCRIPTS = { SET, DELETE, INCR, EXPIRED, CLEAR, RAISE_REVISION } as const;
export type ScriptName = keyof typeof SCRIPTS;
