// The Lua scripts of the locks on Redis (see locks.ts and docs/redis-locks.md).
//
// Keys, for a namespace `ns` and a lock `name`:
// - `ns:l:<name>` the held lock: its fencing token as text, with the lease as
//   PX, so a holder that dies frees it when the lease runs out;
// - `ns:ltoken` the token counter (INCR), one for every lock of the namespace,
//   so that each lock's tokens strictly increase;
// - `ns:lq:<name>` the waiters: a sorted set of waiter ids (`<process>.<n>`)
//   scored by arrival; removed when it empties, and PX-expiring unless a live
//   waiter refreshes it;
// - `ns:lw:<waiter id>` present while that waiter is alive: set with PX by its
//   acquire attempts and by its process's heartbeat, so a waiter whose process
//   died (or that was forgotten) is skipped once it expires;
// - channel `ns:locks` carries a lock's name when its waiters should try again
//   (a release, or a waiter that withdrew), so nobody polls.
// All times are Redis's own (PX, PTTL): no clock of any process is compared.

/**
 * KEYS: lock, queue, token counter, this waiter's liveness key · ARGV: waiter
 * id, lease ms, the highest token this process has seen, liveness ms, queue
 * TTL ms, the liveness keys' prefix (`ns:lw:`). Grants at once when the lock is
 * free and nobody waits (or this waiter is the first live one), else queues the
 * waiter (keeping its place if queued already) after dropping dead waiters at
 * the head. Replies `{1, token}`, or `{0, ms}`: when to try again without a
 * wake (the lease's end, or when the first waiter's liveness runs out).
 */
export const LOCK_ACQUIRE = `
local function grant()
  local token = redis.call('INCR', KEYS[3])
  local seen = tonumber(ARGV[3])
  if token <= seen then token = seen + 1; redis.call('SET', KEYS[3], token) end
  redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
  return token
end
local held = redis.call('EXISTS', KEYS[1]) == 1
if not held and redis.call('EXISTS', KEYS[2]) == 0 then return { 1, grant() } end
redis.call('SET', KEYS[4], '1', 'PX', ARGV[4])
local id = ARGV[1]
if not redis.call('ZSCORE', KEYS[2], id) then
  local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  redis.call('ZADD', KEYS[2], (tonumber(last[2]) or 0) + 1, id)
end
local wait = -2
while true do
  local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if head == id then break end
  local alive = redis.call('PTTL', ARGV[6] .. head)
  if alive > 0 then wait = alive; break end
  redis.call('ZREM', KEYS[2], head)
end
if wait == -2 and not held then
  redis.call('ZREM', KEYS[2], id)
  redis.call('DEL', KEYS[4])
  if redis.call('ZCARD', KEYS[2]) == 0 then redis.call('DEL', KEYS[2]) else redis.call('PEXPIRE', KEYS[2], ARGV[5]) end
  return { 1, grant() }
end
redis.call('PEXPIRE', KEYS[2], ARGV[5])
if held then wait = redis.call('PTTL', KEYS[1]) end
return { 0, wait }
`;

/**
 * KEYS: queue, the waiter's liveness key · ARGV: waiter id, lock name, wake
 * channel. Withdraws a waiter; the others are woken (it may have been the
 * first), or the queue removed.
 */
export const LOCK_CANCEL = `
redis.call('DEL', KEYS[2])
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) else redis.call('PUBLISH', ARGV[3], ARGV[2]) end
return 1
`;

/** KEYS: lock, queue · ARGV: token, lock name, wake channel. Releases if the token holds; wakes the waiters. */
export const LOCK_RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PUBLISH', ARGV[3], ARGV[2]) end
return 1
`;

/** KEYS: lock · ARGV: token, lease ms. Renews the lease if the token holds. */
export const LOCK_EXTEND = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/**
 * KEYS: the liveness keys of this process's waiters, then the queues they wait
 * in · ARGV: how many liveness keys, liveness ms, queue TTL ms.
 */
export const LOCK_HEARTBEAT = `
local n = tonumber(ARGV[1])
for i = 1, n do redis.call('SET', KEYS[i], '1', 'PX', ARGV[2]) end
for i = n + 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
return 0
`;
