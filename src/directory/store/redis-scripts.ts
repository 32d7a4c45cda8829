/**
 * The Lua scripts the Redis store runs (docs/architecture.md, "The directory
 * on Redis"). Each request that reads and then writes runs as one script, so
 * Redis executes it atomically with respect to every other directory process:
 * no name is bound twice, no port handed out twice, no listing seen half
 * changed. Each costs one round trip (EVALSHA; EVAL once after a Redis restart
 * emptied its script cache).
 *
 * Keys, all under the store's prefix P:
 *
 *   P peers      hash    name → "key|ip|port|registeredAt|seenIp|seenPort|owner"   (owner last: it may hold '|')
 *   P heard      zset    name → last heard, ms on the shared clock (Redis TIME)
 *   P ports      hash    "ip|port" → name                          (ports in use, per IP)
 *   P gen        string  the listing's generation: changes with every change of the listing
 *   P cursor     string  where the next port search starts (round-robin, shared)
 *   P identity   string  the directory's public key, hex
 *   P shutdown   string  "µs|reason" of the last SHUTDOWN announced (Redis TIME), with a TTL
 *   P events     channel "gen|N" after every change of the listing; "shutdown|µs|reason";
 *                        "tell|owner|via|ip|port|name": a CALL for the process whose session is owner
 *
 * The generation starts, when its key is missing (a new or restarted Redis),
 * at Redis's time in microseconds and then counts up: a Redis that lost its
 * data never hands a process a generation it already cached a listing for.
 * Every script that changes the listing publishes the new generation on the
 * channel (the channel is the last ARGV: it is not a key) and returns it.
 */
import { createHash } from 'node:crypto';

/** Lua functions every script that changes the list shares. */
const PRELUDE = `
-- key, ip, port, owner of an entry (registeredAt and the seen address are only read outside)
local function parse(value)
  local key, ip, port, _, _, _, owner = string.match(value, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$')
  return key, ip, port, owner
end
local function bump(gen, channel)
  if redis.call('EXISTS', gen) == 0 then
    local t = redis.call('TIME')
    redis.call('SET', gen, t[1] .. string.format('%06d', tonumber(t[2])))
  end
  redis.call('INCR', gen)
  local g = redis.call('GET', gen)
  redis.call('PUBLISH', channel, 'gen|' .. g)
  return g
end
local function drop(peers, heard, ports, name, value)
  local _, ip, port = parse(value)
  redis.call('HDEL', ports, ip .. '|' .. port)
  redis.call('HDEL', peers, name)
  redis.call('ZREM', heard, name)
end
-- A free port at ip: the requested one if free, else the next free one in
-- lo..hi after the shared cursor. Returns false when none is left.
local function allocate(ports, cursor, ip, requested, lo, hi)
  if requested ~= 0 and redis.call('HEXISTS', ports, ip .. '|' .. requested) == 0 then
    return requested
  end
  local span = hi - lo + 1
  local start = tonumber(redis.call('GET', cursor) or lo) or lo
  if start < lo or start > hi then start = lo end
  for i = 0, span - 1 do
    local candidate = lo + ((start - lo + i) % span)
    if redis.call('HEXISTS', ports, ip .. '|' .. candidate) == 0 then
      if candidate == hi then redis.call('SET', cursor, lo) else redis.call('SET', cursor, candidate + 1) end
      return candidate
    end
  end
  return false
end
`;

/**
 * UP, and the re-assertion of an entry after an outage.
 * KEYS peers heard ports gen cursor
 * ARGV mode name ip requestedPort owner key registeredAt lastHeard lo hi channel seenIp seenPort
 *
 * mode 'register' (protocol.md §6.1):
 *   name held by another key                → {'taken'}
 *   held by the same owner                  → {'same', value}           (heard refreshed)
 *   held by the same key, another owner     → the old entry goes, then as for a new one,
 *                                             with the previous owner as the third element
 *   new                                     → {'new', value, previousOwner or '', generation}
 *   no port left                            → {'exhausted'}
 * mode 'restore' (this process held the entry when Redis went away):
 *   held by another owner                   → {'lost'}
 *   held by this owner                      → {'same', value}           (heard moved forward only)
 *   missing                                 → {'new', value, '', generation}  (its port again if free)
 */
const REGISTER = `${PRELUDE}
local peers, heard, ports, gen, cursor = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local mode, name, ip, requested, owner, key = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6]
local registeredAt, lastHeard, lo, hi, channel = ARGV[7], ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11]
local seenIp, seenPort = ARGV[12], ARGV[13]
local current = redis.call('HGET', peers, name)
local previous = ''
if current then
  local ckey, _, _, cowner = parse(current)
  if mode == 'restore' then
    if cowner ~= owner then return {'lost'} end
    redis.call('ZADD', heard, 'GT', lastHeard, name)
    return {'same', current}
  end
  if ckey ~= key then return {'taken'} end
  if cowner == owner then
    redis.call('ZADD', heard, lastHeard, name)
    return {'same', current}
  end
  previous = cowner
  drop(peers, heard, ports, name, current)
  bump(gen, channel)
end
local port = allocate(ports, cursor, ip, requested, lo, hi)
if not port then return {'exhausted'} end
local value = key .. '|' .. ip .. '|' .. port .. '|' .. registeredAt .. '|' .. seenIp .. '|' .. seenPort .. '|' .. owner
redis.call('HSET', peers, name, value)
redis.call('HSET', ports, ip .. '|' .. port, name)
redis.call('ZADD', heard, lastHeard, name)
return {'new', value, previous, bump(gen, channel)}
`;

/**
 * ALIVE, and any request from a registered client.
 * KEYS peers heard; ARGV name owner now → the entry's value, or nil when it is not the owner's.
 */
const REFRESH = `${PRELUDE}
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return false end
local _, _, _, owner = parse(current)
if owner ~= ARGV[2] then return false end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return current
`;

/** DOWN. KEYS peers heard ports gen; ARGV name owner channel → the new generation when removed, else 0. */
const REMOVE = `${PRELUDE}
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 0 end
local _, _, _, owner = parse(current)
if owner ~= ARGV[2] then return 0 end
drop(KEYS[1], KEYS[2], KEYS[3], ARGV[1], current)
return bump(KEYS[4], ARGV[3])
`;

/**
 * Expiry: any process's sweep may run it; no process is special. Removes at
 * most `limit` entries last heard before `cutoff` (shared ms) and returns
 * them as a flat list: how many it looked at, the generation, then name, value, heard, ...
 * KEYS peers heard ports gen; ARGV cutoff limit channel
 */
const EXPIRE = `${PRELUDE}
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local gone = {tostring(#stale / 2), ''}
for i = 1, #stale, 2 do
  local name = stale[i]
  local current = redis.call('HGET', KEYS[1], name)
  if current then
    drop(KEYS[1], KEYS[2], KEYS[3], name, current)
    gone[#gone + 1] = name
    gone[#gone + 1] = current
    gone[#gone + 1] = stale[i + 1]
  else
    redis.call('ZREM', KEYS[2], name)
  end
end
if #stale > 0 then gone[2] = bump(KEYS[4], ARGV[3]) end
return gone
`;

/** WHO and DUMP: one snapshot. KEYS peers heard gen → {HGETALL peers, ZRANGE heard WITHSCORES, gen}. */
const LIST = `
return {redis.call('HGETALL', KEYS[1]), redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES'), redis.call('GET', KEYS[3]) or '0'}
`;

/** KEYS gen → the listing's generation ('0' before the first change). */
const GENERATION = `
return redis.call('GET', KEYS[1]) or '0'
`;

/** KEYS peers → how many are online. */
const SIZE = `
return redis.call('HLEN', KEYS[1])
`;

/** KEYS identity; ARGV key → the key the directory is bound to (this one, if it was the first). */
const CLAIM = `
local held = redis.call('GET', KEYS[1])
if held then return held end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`;

/**
 * SHUTDOWN, recorded and published in one step.
 * KEYS shutdown; ARGV reason ttlMs channel → the notice's time (Redis TIME in µs).
 */
const ANNOUNCE = `
local t = redis.call('TIME')
local us = t[1] .. string.format('%06d', tonumber(t[2]))
redis.call('SET', KEYS[1], us .. '|' .. ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[3], 'shutdown|' .. us .. '|' .. ARGV[1])
return us
`;

/** The periodic check: KEYS shutdown gen → {TIME, the listing's generation, the last SHUTDOWN notice or false}. */
const CHECK = `
return {redis.call('TIME'), redis.call('GET', KEYS[2]) or '0', redis.call('GET', KEYS[1])}
`;

/** A notice for one owner's process: ARGV message channel. */
const TELL = `
return redis.call('PUBLISH', ARGV[2], ARGV[1])
`;

export interface LuaScript {
  readonly name: string;
  readonly source: string;
  /** SHA-1 of the source, for EVALSHA. */
  readonly sha: string;
  readonly keyCount: number;
}

function script(name: string, source: string, keyCount: number): LuaScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex'), keyCount };
}

export const SCRIPTS = {
  register: script('register', REGISTER, 5),
  refresh: script('refresh', REFRESH, 2),
  remove: script('remove', REMOVE, 4),
  expire: script('expire', EXPIRE, 4),
  list: script('list', LIST, 3),
  generation: script('generation', GENERATION, 1),
  size: script('size', SIZE, 1),
  claim: script('claim', CLAIM, 1),
  announce: script('announce', ANNOUNCE, 1),
  check: script('check', CHECK, 2),
  tell: script('tell', TELL, 0),
} as const;
