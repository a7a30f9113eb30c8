-- Unsubscribe a client from a topic and log the change.
-- KEYS as subscribe.lua; ARGV: client id, topic, change log max length
-- Returns 1 when the client was subscribed, 0 otherwise.
if redis.call('HDEL', KEYS[1], ARGV[2]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[1])
if redis.call('SCARD', KEYS[2]) == 0 then redis.call('SREM', KEYS[3], ARGV[2]) end
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[4], ARGV[1]) end
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[3], '*', 'c', ARGV[1], 't', ARGV[2], 'o', 'unsubscribe')
return 1
