-- Merges one replica's view of a traced message into the cluster's.
-- KEYS[1] the message hash, KEYS[2] the index (sorted set)
-- ARGV[1] message id, ARGV[2] first-seen ms, ARGV[3] ttl seconds,
-- then triplets (op, field, value): op "s" sets the field if absent (times
-- and facts every replica sees alike), "m" keeps the larger number (counts:
-- every replica counts the same node's events, so the largest is the most
-- complete), "n" keeps the smaller number (the earliest time).
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
for i = 4, #ARGV, 3 do
  local op, field, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if op == 's' then
    redis.call('HSETNX', KEYS[1], field, value)
  else
    local old = tonumber(redis.call('HGET', KEYS[1], field))
    local new = tonumber(value)
    if old == nil or (op == 'm' and new > old) or (op == 'n' and new < old) then
      redis.call('HSET', KEYS[1], field, value)
    end
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
