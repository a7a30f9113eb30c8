-- Shared prelude (prepended to the scripts that append to a stream, not a command of its own).
-- The id of the newest entry a stream ever had, '0-0' when it never existed:
-- trimming may have emptied it, so XINFO's last-generated-id, not its last entry.
local function last_id(stream)
  if redis.call('EXISTS', stream) == 0 then return '0-0' end
  local info = redis.call('XINFO', 'STREAM', stream)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then return info[i + 1] end
  end
  return '0-0'
end
