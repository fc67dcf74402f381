// The history of a namespace in Redis: every write script appends its change
// events to the Redis Stream `ns:history` in the same script as the write. One
// script call appends one entry holding all its events (a tick of 128 sets is
// one XADD, not 128: that is what keeps a write with history within 1.3× of one
// without), whose ID is the revision of its LAST event (`<revision>-0`), so
// that `XRANGE <since + 1>-0 +` starts at the entry holding revision since + 1:
// reading from a revision is one XRANGE. An entry's fields are `e`, event, `e`,
// event…: each change event exactly as the scripts publish it
// (`op \n revision \n byte length of key \n key [t v]`, see scripts.ts), so one
// decoder reads both. The stream is trimmed with `MINID ~ <revision − maxEvents + 1>`:
// at least the last maxEvents revisions stay (Redis trims whole stream nodes of
// 100 entries, so up to about 100 entries more may). A process whose `history`
// is `{ maxEvents: 0 }` appends nothing: its writes leave holes in the
// revisions of the stream, and a replay that meets a hole fails with
// ERR_COMPACTED rather than hide the missing changes (see docs/redis.md).

/**
 * Lua: `record(stream, cap, revs, events)` appends the events (with their
 * revisions, in order) when `cap > 0`: one entry per 1 000 events (Lua's
 * `unpack` has a limit; a transaction may be long).
 * `pcall`, not `call`: the write has happened by then, and Redis does not roll
 * back a script; an append that fails (a stream whose top ID is past the
 * counter, after someone reset `ns:rev` by hand) leaves a hole that replays
 * report, instead of a write that half happened.
 */
export const RECORD = `
local function record(stream, cap, revs, events)
  if cap <= 0 then return end
  for from = 1, #events, 1000 do
    local to = math.min(from + 999, #events)
    local fields = {}
    for i = from, to do fields[#fields + 1] = 'e'; fields[#fields + 1] = events[i] end
    local last = revs[to]
    redis.pcall('XADD', stream, 'MINID', '~', string.format('%d', math.max(0, last - cap + 1)), string.format('%d', last) .. '-0', unpack(fields))
  end
end
`;

/**
 * KEYS: rev, history · ARGV: the first ID to read (`<since + 1>-0`), the most
 * entries to read. Reads the counter and the stream in one step, so the reply
 * is consistent: `{ current revision, oldest retained revision (0: the stream
 * is empty), entries, 1 when there may be more entries }`, each entry
 * `{ id, { 'e', event, 'e', event… } }` (its first events may be older than asked).
 */
export const READ_HISTORY = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
local oldest = 0
if #first > 0 then oldest = tonumber(string.match(first[1][2][2], '^%a\\n(%d+)\\n')) end
local entries = redis.call('XRANGE', KEYS[2], ARGV[1], '+', 'COUNT', ARGV[2])
return { current, oldest, entries, #entries == tonumber(ARGV[2]) and 1 or 0 }
`;

/**
 * KEYS: rev · ARGV: the SCAN MATCH glob of the data keys. Every matching key and
 * its stored string, and the revision they were read at, in one script: nothing
 * runs in Redis meanwhile, so the snapshot is one instant. It holds Redis for
 * the length of the scan (about 1 s per million keys; see docs/redis.md).
 * Reply: `{ revision, redis key, stored, redis key, stored, … }`.
 */
export const SNAPSHOT = `
local out = { tonumber(redis.call('GET', KEYS[1]) or '0') }
local seen = {}
local cursor = '0'
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 1000)
  cursor = page[1]
  local keys = {}
  for _, key in ipairs(page[2]) do
    if not seen[key] then seen[key] = true; keys[#keys + 1] = key end
  end
  for i = 1, #keys, 500 do
    local chunk = { unpack(keys, i, math.min(i + 499, #keys)) }
    local values = redis.call('MGET', unpack(chunk))
    for j = 1, #chunk do
      -- A key that expired is nil here: it is not part of the snapshot.
      if values[j] then out[#out + 1] = chunk[j]; out[#out + 1] = values[j] end
    end
  end
until cursor == '0'
return out
`;
