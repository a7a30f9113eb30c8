-- Give a client a cursor in a topic's stream if it has none: the stream's
-- current end, so it receives what is appended from now on.
-- KEYS[1] cursors hash, KEYS[2] topic stream; ARGV[1] client id
-- Returns the client's cursor.
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return existing end
local cursor = last_id(KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], cursor)
return cursor
