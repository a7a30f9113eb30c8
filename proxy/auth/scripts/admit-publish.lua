-- Admit one publish of ARGV[4] bytes against three fixed windows, or refuse it
-- without counting anything: all three checks happen before any increment.
-- KEYS[1] publishes this second, KEYS[2] publishes this hour, KEYS[3] bytes today.
-- ARGV[1..3] limits (per second, per hour, bytes per day); ARGV[4] bytes;
-- ARGV[5..7] milliseconds until each window ends (the keys' TTLs).
-- Returns 0 (admitted) or the index of the first limit exceeded (1, 2, 3).
local bytes = tonumber(ARGV[4])
if tonumber(redis.call('GET', KEYS[1]) or '0') + 1 > tonumber(ARGV[1]) then return 1 end
if tonumber(redis.call('GET', KEYS[2]) or '0') + 1 > tonumber(ARGV[2]) then return 2 end
if tonumber(redis.call('GET', KEYS[3]) or '0') + bytes > tonumber(ARGV[3]) then return 3 end
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('INCRBY', KEYS[3], bytes)
redis.call('PEXPIRE', KEYS[3], ARGV[7])
return 0
