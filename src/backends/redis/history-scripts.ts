// The history of a namespace in Redis: every write script appends its change
// events to the Redis Stream `ns:history` in the same script as the write, with
// the revision as the entry ID (`<revision>-0`), so that reading from a revision
// is one XRANGE. An entry has one field, `e`: the change event exactly as the
// scripts publish it (`op \n revision \n byte length of key \n key [t v]`, see
// scripts.ts), so one decoder reads both. The stream is trimmed with
// `MAXLEN ~ maxEvents` (at least maxEvents entries stay; Redis trims whole
// stream nodes, so up to about a hundred more may). A process whose `history`
// is `{ maxEvents: 0 }` appends nothing: its writes leave holes in the
// revisions of the stream, and a replay that meets a hole fails with
// ERR_COMPACTED rather than hide the missing changes (see docs/redis.md).

/**
 * Lua: `record(stream, cap, revision, event)` appends one event when `cap > 0`.
 * `pcall`, not `call`: the write has happened by then, and Redis does not roll
 * back a script; an append that fails (a stream whose top ID is past the
 * counter, after someone reset `ns:rev` by hand) leaves a hole that replays
 * report, instead of a write that half happened.
 */
export const RECORD = `
local function record(stream, cap, rev, event)
  if cap > 0 then redis.pcall('XADD', stream, 'MAXLEN', '~', cap, rev .. '-0', 'e', event) end
end
`;

/**
 * KEYS: rev, history · ARGV: the first ID to read (`<since + 1>-0`), the most
 * entries to read. Reads the counter and the stream in one step, so the reply
 * is consistent: `{ current revision, oldest retained revision (0: the stream
 * is empty), entries }`, each entry `{ id, { 'e', event } }`.
 */
export const READ_HISTORY = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
local oldest = 0
if #first > 0 then oldest = tonumber(string.match(first[1][1], '^(%d+)')) end
return { current, oldest, redis.call('XRANGE', KEYS[2], ARGV[1], '+', 'COUNT', ARGV[2]) }
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
