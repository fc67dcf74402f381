// The history of a namespace in Redis: every write script appends its change
// events to the Redis Stream `ns:history` in the same script as the write. One
// script call appends one entry holding all its events (a tick of 128 sets is
// one XADD, not 128), whose ID is the revision of its LAST event
// (`<revision>-0`), so that `XRANGE <since + 1>-0 +` starts at the entry that
// holds revision since + 1: reading from a revision is one XRANGE. An entry's
// fields are pairs, one per event, made of strings the script holds anyway (no
// string is built for the history: that is what keeps a write with history
// within 1.3× of one without):
//   set      `ns:k:<key>`  `<t><revision>|<value>` (the stored string itself)
//   delete   `ns:k:<key>`  `d<revision>`
//   expire   `ns:k:<key>`  `e<revision>`
//   clear    `*`           `c<revision>`
// The stream is trimmed with `MINID ~ <revision − maxEvents + 1>`: at least the
// last maxEvents revisions stay (Redis trims whole stream nodes, so somewhat
// more may). A process whose `history`
// is `{ maxEvents: 0 }` appends nothing: its writes leave holes in the
// revisions of the stream, and a replay that meets a hole fails with
// ERR_COMPACTED rather than hide the missing changes (see docs/redis.md).

/**
 * Lua: `record(stream, cap, revs, fields)` appends the events when `cap > 0`:
 * `revs` their revisions in order, `fields` two strings per event (above); one
 * entry per 1 000 events (Lua's `unpack` has a limit; a transaction may be long).
 * `pcall`, not `call`: the write has happened by then, and Redis does not roll
 * back a script; an append that fails (a stream whose top ID is past the
 * counter, after someone reset `ns:rev` by hand) leaves a hole that replays
 * report, instead of a write that half happened.
 */
export const RECORD = `
local function record(stream, cap, revs, fields)
  if cap <= 0 then return end
  for from = 1, #revs, 1000 do
    local to = math.min(from + 999, #revs)
    local last = revs[to]
    redis.pcall('XADD', stream, 'MINID', '~', string.format('%d', math.max(0, last - cap + 1)),
      string.format('%d', last) .. '-0', unpack(fields, 2 * from - 1, 2 * to))
  end
end
`;

/**
 * KEYS: rev, history · ARGV: the first ID to read (`<since + 1>-0`), the most
 * entries to read. Reads the counter and the stream in one step, so the reply
 * is consistent: `{ current revision, oldest retained revision (0: the stream
 * is empty), entries, 1 when there may be more entries }`, each entry
 * `{ id, { name, value, name, value… } }` (its first events may be older than asked).
 */
export const READ_HISTORY = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
local oldest = 0
if #first > 0 then oldest = tonumber(string.match(first[1][2][2], '^%a(%d+)')) end
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
