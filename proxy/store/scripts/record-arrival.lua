-- Record that one node holds a message and, only the first time that node
-- reports it, append "message reached c nodes" to the topic's stream. So each
-- count level appears exactly once however many replicas report the same node.
-- KEYS[1] message hash (d body, s source, c count, n:<node> receipts)
-- KEYS[2] topic stream
-- ARGV: node, message id, body, source, message TTL (s), stream max length, stream max age (ms)
-- Returns {count, appended (0|1), event id or false}
local message, stream = KEYS[1], KEYS[2]
if redis.call('HSETNX', message, 'n:' .. ARGV[1], '1') == 0 then
  return {tonumber(redis.call('HGET', message, 'c')), 0, false}
end
local count = redis.call('HINCRBY', message, 'c', 1)
if count == 1 then
  redis.call('HSET', message, 'd', ARGV[3], 's', ARGV[4])
end
redis.call('EXPIRE', message, ARGV[5])
local previous = last_id(stream)
local id = redis.call('XADD', stream, 'MAXLEN', '~', ARGV[6], '*', 'm', ARGV[2], 'c', count, 'p', previous)
local now = redis.call('TIME')
local oldest = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[7])
if oldest > 0 then
  redis.call('XTRIM', stream, 'MINID', '~', oldest)
end
return {count, 1, id}
