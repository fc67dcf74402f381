// The Lua scripts of the Redis backend. Every write that other processes must
// hear of runs as one script: the check (compare-and-set, type), the write, the
// store-wide revision and the change event are one atomic step in Redis.
//
// Layout, for a namespace `ns` (with `%` and `:` percent-encoded, so that no
// namespace's keys fall under another's prefix): `ns:k:<key>` a string
// `<t><revision>|<value>` (t: `n` a number as text, `v` serialized bytes), so a
// read is one plain GET · `ns:rev` the revision counter · `ns:t:<key>` marks a
// key with a TTL, so that exactly one process announces its expiry (it expires
// a grace after its key) ·
// `ns:changes` the change events · `ns:history` the Redis Stream that keeps them
// (history-scripts.ts: every write script appends its events there too, when
// its caller's `history` keeps any) · `ns:c:<channel>` the published channels.
// The scripts derive the key and the changes channel from KEYS, which keeps
// their arguments few: `ns:rev` is 3 bytes longer than `ns:`, and `ns:k:` one
// byte shorter than `ns:rev`.
//
// A change event is `op \n revision \n byte length of key \n key [t v]`.
//
// Transactions and fenced writes (transaction-script.ts) use the same keys and
// events. Locks (lock-scripts.ts) add `ns:l:<name>` a held lock (its token, PX
// lease) · `ns:ltoken` the token counter · `ns:lq:<name>` a lock's waiters
// (sorted set, removed when empty, PX refreshed by live waiters) ·
// `ns:lw:<waiter>` a waiter's liveness (PX) · channel `ns:locks`
// (a lock's name: its waiters try again). See docs/redis-locks.md.

import { READ_HISTORY, RECORD, SNAPSHOT } from './history-scripts.js';
import { LOCK_ACQUIRE, LOCK_CANCEL, LOCK_EXTEND, LOCK_HEARTBEAT, LOCK_RELEASE } from './lock-scripts.js';
import { TRANSACTION } from './transaction-script.js';

// The revision of a stored value (`'0'` for none).
const REVISION_OF = `
local function revisionOf(stored)
  if not stored then return '0' end
  return string.sub(stored, 2, string.find(stored, '|', 2, true) - 1)
end
`;

// For the scripts on one key: KEYS[1] its data, KEYS[2] the revision counter.
const PREAMBLE = `${REVISION_OF}${RECORD}
local ns = string.sub(KEYS[2], 1, -4)
local key = string.sub(KEYS[1], #KEYS[2])
local changes = ns .. 'changes'
local history = ns .. 'history'
`;

/**
 * The gets and sets of one tick, in their order. KEYS: rev, then each one's
 * data key · ARGV: `p` when every set is plain (no TTL, no compare-and-set, no
 * keep-TTL), else `x`, followed by the history cap (`p10000`; `p0`: no
 * history, see history-scripts.ts); then per get `g`, and per set a header `s<t><flags>`,
 * the value bytes, then the TTL in ms if the flags hold `x` and the expected
 * revision if they hold `r` (`k`: keep the key's TTL). Each applies as if
 * alone; the reply holds, per get, the stored string (or nil) and, per set,
 * its revision or `C<current revision>` for a compare-and-set that failed.
 *
 * This is the hot path. A call from Lua costs Redis more than the work it
 * does, so a tick of gets and plain sets makes four: the counter read, one
 * MGET of what the tick reads, one MSET of what it writes, the counter
 * write; a get after a set of its key in the same tick is answered from the
 * pending writes, so each op still sees exactly the ops before it. Change
 * events are built only when someone listens (PUBSUB NUMSUB is exact here: a
 * subscription Redis has not confirmed yet would miss the event anyway).
 * Without a TTL the TTL mark is left alone: a stale mark is harmless (EXPIRED
 * announces nothing for a key that exists), DELETE or CLEAR removes it, and it
 * expires by itself. A kept TTL (`k`) keeps the mark too, which outlives it.
 */
export const BATCH = `${REVISION_OF}${RECORD}
local ns = string.sub(KEYS[1], 1, -4)
local changes = ns .. 'changes'
local history = ns .. 'history'
local cap = tonumber(string.sub(ARGV[1], 2)) or 0
local announce = redis.call('PUBSUB', 'NUMSUB', changes)[2] > 0
local first = tonumber(redis.call('GET', KEYS[1]) or '0')
local rev = first
local results = {}
local revs, fields = {}, {}

-- value: the stored string, which is also what the history keeps (no string is built for it).
local function announceSet(data, t, v, value)
  if announce then
    local key = string.sub(data, #KEYS[1])
    redis.call('PUBLISH', changes, 's\\n' .. rev .. '\\n' .. #key .. '\\n' .. key .. t .. v)
  end
  if cap > 0 then
    revs[#revs + 1] = rev
    fields[#fields + 1] = data
    fields[#fields + 1] = value
  end
end

if string.sub(ARGV[1], 1, 1) == 'p' then
  local reads, at = {}, 2
  for i = 2, #KEYS do
    if ARGV[at] == 'g' then reads[#reads + 1] = KEYS[i]; at = at + 1 else at = at + 2 end
  end
  local read = #reads > 0 and redis.call('MGET', unpack(reads)) or {}
  local pending, writes, r = {}, {}, 0
  at = 2
  for i = 2, #KEYS do
    local data = KEYS[i]
    if ARGV[at] == 'g' then
      r = r + 1
      results[i - 1] = pending[data] or read[r]
      at = at + 1
    else
      local t, v = string.sub(ARGV[at], 2, 2), ARGV[at + 1]
      at = at + 2
      rev = rev + 1
      local value = t .. rev .. '|' .. v
      pending[data] = value
      writes[#writes + 1] = data
      writes[#writes + 1] = value
      announceSet(data, t, v, value)
      results[i - 1] = rev
    end
  end
  if #writes > 0 then redis.call('MSET', unpack(writes)) end
else
  local at = 2
  for i = 2, #KEYS do
    local data = KEYS[i]
    local header = ARGV[at]
    if header == 'g' then
      results[i - 1] = redis.call('GET', data)
      at = at + 1
    else
      local t, v = string.sub(header, 2, 2), ARGV[at + 1]
      local ttl, expected, keep
      at = at + 2
      if #header > 2 then
        if string.find(header, 'x', 3, true) then ttl = ARGV[at]; at = at + 1 end
        if string.find(header, 'r', 3, true) then expected = ARGV[at]; at = at + 1 end
        keep = string.find(header, 'k', 3, true)
      end
      local current = expected and revisionOf(redis.call('GET', data))
      if current and current ~= expected then
        results[i - 1] = 'C' .. current
      else
        rev = rev + 1
        local value = t .. rev .. '|' .. v
        if ttl then
          redis.call('SET', data, value, 'PX', ttl)
          -- The mark outlives its key by a grace (the key's TTL, within 5 s to 60 s) in which a
          -- connected process announces the expiry, then goes by itself (see docs/redis.md).
          local ms = tonumber(ttl)
          redis.call('SET', ns .. 't:' .. string.sub(data, #KEYS[1]), rev, 'PX', string.format('%d', ms + math.min(math.max(ms, 5000), 60000)))
        elseif keep then
          redis.call('SET', data, value, 'KEEPTTL')
        else
          redis.call('SET', data, value)
        end
        announceSet(data, t, v, value)
        results[i - 1] = rev
      end
    end
  end
end
if rev ~= first then redis.call('SET', KEYS[1], rev) end
record(history, cap, revs, fields)
return results
`;

/** KEYS: data, rev, ttl mark · ARGV: ifRevision|'', history cap */
export const DELETE = `${PREAMBLE}
local current = revisionOf(redis.call('GET', KEYS[1]))
if ARGV[1] ~= '' and current ~= ARGV[1] then
  return redis.error_reply('KVBUS_CONFLICT ' .. current)
end
if current == '0' then return 0 end
redis.call('DEL', KEYS[1], KEYS[3])
local rev = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', changes, 'd\\n' .. rev .. '\\n' .. #key .. '\\n' .. key)
record(history, tonumber(ARGV[2]), { rev }, { KEYS[1], 'd' .. rev })
return 1
`;

/**
 * KEYS: data, rev · ARGV: by, history cap. Keeps the TTL. A result that is not a finite
 * number (an overflow, or a stored infinity or NaN) is refused before anything
 * is written: `KVBUS_RANGE <old>`.
 */
export const INCR = `${PREAMBLE}
local stored = redis.call('GET', KEYS[1])
local old = 0
if stored then
  local t = string.sub(stored, 1, 1)
  if t ~= 'n' then return redis.error_reply('KVBUS_TYPE ' .. t) end
  old = tonumber(string.sub(stored, string.find(stored, '|', 2, true) + 1))
end
local n = old + tonumber(ARGV[1])
if n ~= n or n == math.huge or n == -math.huge then
  return redis.error_reply('KVBUS_RANGE ' .. string.format('%.17g', old))
end
local s = string.format('%.17g', n)
local rev = redis.call('INCR', KEYS[2])
local value = 'n' .. rev .. '|' .. s
redis.call('SET', KEYS[1], value, 'KEEPTTL')
redis.call('PUBLISH', changes, 's\\n' .. rev .. '\\n' .. #key .. '\\n' .. key .. 'n' .. s)
record(history, tonumber(ARGV[2]), { rev }, { KEYS[1], value })
return s
`;

/**
 * KEYS: data, rev, ttl mark · ARGV: changes channel, key, history cap. Run by
 * every process that hears Redis expire the key; the one that removes the mark announces it.
 */
export const EXPIRED = `${RECORD}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('DEL', KEYS[3]) == 0 then return 0 end
local rev = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[1], 'e\\n' .. rev .. '\\n' .. #ARGV[2] .. '\\n' .. ARGV[2])
record(string.sub(KEYS[2], 1, -4) .. 'history', tonumber(ARGV[3]), { rev }, { KEYS[1], 'e' .. rev })
return rev
`;

/** KEYS: rev · ARGV: data glob, ttl-mark glob, changes channel, history cap. SCAN, never KEYS. The history stays. */
export const CLEAR = `${RECORD}
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
record(string.sub(KEYS[1], 1, -4) .. 'history', tonumber(ARGV[4]), { rev }, { '*', 'c' .. rev })
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
export const SCRIPTS = {
  BATCH,
  DELETE,
  INCR,
  EXPIRED,
  CLEAR,
  RAISE_REVISION,
  TRANSACTION,
  READ_HISTORY,
  SNAPSHOT,
  LOCK_ACQUIRE,
  LOCK_CANCEL,
  LOCK_RELEASE,
  LOCK_EXTEND,
  LOCK_HEARTBEAT,
} as const;
export type ScriptName = keyof typeof SCRIPTS;
