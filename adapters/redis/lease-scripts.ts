/**
 * Lua scripts of pull consumption with leases, one stream (topic partition) per call, so each runs
 * atomically on the server that owns the stream. KEYS[1] = the stream, KEYS[2] = the group's lease index
 * (a sorted set of entry ids scored by the lease's end, in ms of the server's clock). The pull group is a
 * plain Redis consumer group on the stream; each claim is a consumer of it, so the Pending Entries List
 * (PEL) says who holds an entry and how often it was delivered, and XACK is the acknowledgement.
 */

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * ARGV: group, consumer (the claim id), max, leaseMs. Returns `{ id, fields, deliveries }` triples: expired
 * or released leases first (taken over with XCLAIM), then new entries (XREADGROUP `>`). A consumer left with
 * no entry is deleted so claims do not pile up in the group.
 */
export const CLAIM_SCRIPT = `${NOW}
local stream, leases = KEYS[1], KEYS[2]
local group, consumer, max, lease = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
pcall(redis.call, 'XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM')
local out = {}
local expired = redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, max)
for _, id in ipairs(expired) do
  local p = redis.call('XPENDING', stream, group, id, id, 1)
  if #p == 0 then
    redis.call('ZREM', leases, id)
  else
    local owner = p[1][2]
    local c = redis.call('XCLAIM', stream, group, consumer, 0, id)
    if owner ~= consumer and #redis.call('XPENDING', stream, group, '-', '+', 1, owner) == 0 then
      redis.call('XGROUP', 'DELCONSUMER', stream, group, owner)
    end
    if c[1] and c[1][2] then
      out[#out + 1] = { c[1][1], c[1][2], p[1][4] + 1 }
      redis.call('ZADD', leases, now + lease, id)
    else
      redis.call('ZREM', leases, id)
    end
  end
end
if #out < max then
  local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', max - #out, 'STREAMS', stream, '>')
  if r and r[1] then
    for _, e in ipairs(r[1][2]) do
      out[#out + 1] = { e[1], e[2], 1 }
      redis.call('ZADD', leases, now + lease, e[1])
    end
  end
end
if #out == 0 and #redis.call('XPENDING', stream, group, '-', '+', 1, consumer) == 0 then
  redis.call('XGROUP', 'DELCONSUMER', stream, group, consumer)
end
return out`;

/**
 * ARGV: group, consumer, mode ('ack' | 'release'), delayMs, id... Returns one outcome per id: `acked` (also
 * when it was acknowledged before: idempotent), `released`, or `lost` (another claim holds it now).
 */
export const SETTLE_SCRIPT = `${NOW}
local stream, leases = KEYS[1], KEYS[2]
local group, consumer, mode, delay = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local res = {}
for i = 5, #ARGV do
  local id = ARGV[i]
  local ok, p = pcall(redis.call, 'XPENDING', stream, group, id, id, 1)
  if not ok or #p == 0 then
    res[#res + 1] = 'acked'
  elseif p[1][2] ~= consumer then
    res[#res + 1] = 'lost'
  elseif mode == 'ack' then
    redis.call('XACK', stream, group, id)
    redis.call('ZREM', leases, id)
    res[#res + 1] = 'acked'
  else
    redis.call('ZADD', leases, now + delay, id)
    res[#res + 1] = 'released'
  end
end
local ok, left = pcall(redis.call, 'XPENDING', stream, group, '-', '+', 1, consumer)
if ok and #left == 0 then redis.call('XGROUP', 'DELCONSUMER', stream, group, consumer) end
return res`;

/** ARGV: group, consumer, max. The entries the consumer (a claim) still holds, as `{ id, fields }` pairs. */
export const HELD_SCRIPT = `
local ok, r = pcall(redis.call, 'XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', tonumber(ARGV[3]),
  'STREAMS', KEYS[1], '0')
if not ok or not r or not r[1] then return {} end
local out = {}
for _, e in ipairs(r[1][2]) do
  if e[2] then
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
    out[#out + 1] = { e[1], e[2], p[1] and p[1][4] or 1 }
  end
end
return out`;
