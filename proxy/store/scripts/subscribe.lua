-- Subscribe a client to a topic (or change its threshold) and log the change.
-- KEYS[1] client hash, KEYS[2] topic's client set, KEYS[3] active topic set,
-- KEYS[4] client set, KEYS[5] change log
-- ARGV: client id, topic, threshold, change log max length
-- Returns 1 when the subscription is new, 0 when it existed.
local previous = redis.call('HGET', KEYS[1], ARGV[2])
if previous == ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[4], '*', 'c', ARGV[1], 't', ARGV[2], 'o', 'subscribe')
if previous then return 0 end
return 1
