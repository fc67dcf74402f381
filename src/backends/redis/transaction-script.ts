// The Lua script of a transaction, and of every fenced write: the fence, every
// precondition, then the writes with consecutive revisions and their change
// events (published, and appended to the history stream: history-scripts.ts),
// as one atomic step in Redis. The keys and the change events are the
// ones of scripts.ts (its layout comment), so every subscriber decodes them.

import { RECORD } from './history-scripts.js';

/**
 * KEYS: `ns:rev`, the fencing lock's key (`ns:rev` again when unfenced), then
 * each op's data key · ARGV: the history cap (`'0'`: none), the fencing token
 * (`''` when unfenced), then per
 * op a header and its arguments, in this order:
 * - `c`, revision: a check (`0` = absent);
 * - `s<t><flags>`, value bytes, [TTL ms if `x`], [expected revision if `r`]
 *   (`k`: keep the key's TTL): a set, as the BATCH script's;
 * - `d` or `dr`, [expected revision]: a delete;
 * - `i`, by: an incr (keeps the TTL, refuses a non-number and a result that is
 *   not finite, as the INCR script does).
 *
 * Every op sees the ops before it (a check after a set of its key sees the
 * set's revision). Nothing is written unless every op holds: a failure is an
 * error reply naming the op by its 1-based index, `KVBUS_FENCE <lock key>`,
 * `KVBUS_TXCONFLICT <n> <current revision>`, `KVBUS_TXTYPE <n> <t>` or
 * `KVBUS_TXRANGE <n> <old>`. The reply holds per op its new revision (a
 * check: the key's revision; a delete of an absent key: 0), then the new
 * value of each incr, in order, as `%.17g` text.
 */
export const TRANSACTION = `${RECORD}
local function revisionOf(stored)
  if not stored then return '0' end
  return string.sub(stored, 2, string.find(stored, '|', 2, true) - 1)
end
local ns = string.sub(KEYS[1], 1, -4)
local changes = ns .. 'changes'
local history, cap = ns .. 'history', tonumber(ARGV[1])
if ARGV[2] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[2] then
  return redis.error_reply('KVBUS_FENCE ' .. KEYS[2])
end
local first = tonumber(redis.call('GET', KEYS[1]) or '0')
local rev = first
local state, writes, results, numbers = {}, {}, {}, {}
local at = 3
for i = 3, #KEYS do
  local n, data, header = i - 2, KEYS[i], ARGV[at]
  local kind = string.sub(header, 1, 1)
  local stored = state[data]
  if stored == nil then stored = redis.call('GET', data); state[data] = stored end
  local current = revisionOf(stored)
  if kind == 'c' then
    if current ~= ARGV[at + 1] then return redis.error_reply('KVBUS_TXCONFLICT ' .. n .. ' ' .. current) end
    results[n] = tonumber(current)
    at = at + 2
  elseif kind == 's' then
    local t, v = string.sub(header, 2, 2), ARGV[at + 1]
    local ttl, expected
    at = at + 2
    if string.find(header, 'x', 3, true) then ttl = ARGV[at]; at = at + 1 end
    if string.find(header, 'r', 3, true) then expected = ARGV[at]; at = at + 1 end
    if expected and current ~= expected then return redis.error_reply('KVBUS_TXCONFLICT ' .. n .. ' ' .. current) end
    rev = rev + 1
    local value = t .. rev .. '|' .. v
    state[data] = value
    writes[#writes + 1] = { 's', data, value, rev, t .. v, ttl, string.find(header, 'k', 3, true) }
    results[n] = rev
  elseif kind == 'd' then
    local expected
    if header == 'dr' then expected = ARGV[at + 1]; at = at + 2 else at = at + 1 end
    if expected and current ~= expected then return redis.error_reply('KVBUS_TXCONFLICT ' .. n .. ' ' .. current) end
    if stored then
      rev = rev + 1
      state[data] = false
      writes[#writes + 1] = { 'd', data, false, rev }
      results[n] = rev
    else
      results[n] = 0
    end
  else
    local old = 0
    if stored then
      local t = string.sub(stored, 1, 1)
      if t ~= 'n' then return redis.error_reply('KVBUS_TXTYPE ' .. n .. ' ' .. t) end
      old = tonumber(string.sub(stored, string.find(stored, '|', 2, true) + 1))
    end
    local sum = old + tonumber(ARGV[at + 1])
    at = at + 2
    if sum ~= sum or sum == math.huge or sum == -math.huge then
      return redis.error_reply('KVBUS_TXRANGE ' .. n .. ' ' .. string.format('%.17g', old))
    end
    local s = string.format('%.17g', sum)
    rev = rev + 1
    local value = 'n' .. rev .. '|' .. s
    state[data] = value
    writes[#writes + 1] = { 'i', data, value, rev, 'n' .. s }
    results[n] = rev
    numbers[#numbers + 1] = s
  end
end
local announce = #writes > 0 and redis.call('PUBSUB', 'NUMSUB', changes)[2] > 0
local revs, fields = {}, {}
for _, w in ipairs(writes) do
  local op, data, value, r = w[1], w[2], w[3], w[4]
  local key = string.sub(data, #KEYS[1])
  if op == 'd' then
    redis.call('DEL', data, ns .. 't:' .. key)
    if announce then redis.call('PUBLISH', changes, 'd\\n' .. r .. '\\n' .. #key .. '\\n' .. key) end
    revs[#revs + 1] = r
    fields[#fields + 1] = data
    fields[#fields + 1] = 'd' .. r
  else
    if w[6] then
      redis.call('SET', data, value, 'PX', w[6])
      -- The TTL mark outlives its key by BATCH's grace (5 s to 60 s), then goes by itself.
      local ms = tonumber(w[6])
      redis.call('SET', ns .. 't:' .. key, r, 'PX', string.format('%d', ms + math.min(math.max(ms, 5000), 60000)))
    elseif op == 'i' or w[7] then
      redis.call('SET', data, value, 'KEEPTTL')
    else
      redis.call('SET', data, value)
    end
    if announce then redis.call('PUBLISH', changes, 's\\n' .. r .. '\\n' .. #key .. '\\n' .. key .. w[5]) end
    revs[#revs + 1] = r
    fields[#fields + 1] = data
    fields[#fields + 1] = value
  end
end
if rev ~= first then redis.call('SET', KEYS[1], rev) end
record(history, cap, revs, fields)
for _, s in ipairs(numbers) do results[#results + 1] = s end
return results
`;
