-- Store clients' cursors of one topic, each only if it moves forward (two
-- connections of one client may report out of order).
-- KEYS[1] cursors hash; ARGV: client id, cursor, client id, cursor, …
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
for i = 1, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  local ms, seq = parse(ARGV[i + 1])
  local forward = true
  if current then
    local cms, cseq = parse(current)
    forward = cms == nil or ms > cms or (ms == cms and seq > cseq)
  end
  if forward then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 0
