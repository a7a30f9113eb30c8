-- Store clients' cursors of one topic, each only if it moves forward (two
-- connections of one client may report out of order) and only if the client
-- still has one: cursors are created by subscribing (init-cursor.lua) and
-- removed by unsubscribing, so a batch written late, after an unsubscribe,
-- cannot bring back a cursor that would replay the unsubscribed time.
-- KEYS[1] cursors hash; ARGV: client id, cursor, client id, cursor, …
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
for i = 1, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  if current then
    local ms, seq = parse(ARGV[i + 1])
    local cms, cseq = parse(current)
    if cms == nil or ms > cms or (ms == cms and seq > cseq) then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
  end
end
return 0
