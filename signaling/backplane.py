"""Rooms shared by several server instances through Redis (redis-py asyncio).

Redis holds the truth: per room a hash of members (session → presence JSON naming the
instance and connection that hold it) and a version counter. Each change runs as one Lua
script that edits the hash, increments the version and publishes the change on one channel,
so every instance receives changes in version order. An instance mirrors (``rooms.Roster``)
only the rooms where it has members, which is what it needs to route relays and announce
changes; a relay to a member on another instance is published on that instance's channel.

Presence: each instance renews ``instance:<id>`` (TTL ``presence_ttl``) every ttl/3 and, on the
same tick, reaps members whose instance key has expired. A crashed instance's members thus
leave every roster (reason ``expired``) within ttl + ttl/3 of its last renewal.
Keys are computed inside scripts, so this needs a standalone Redis (not Redis Cluster).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ifmesh.signaling import errors
from ifmesh.signaling.config import ServerConfig
from ifmesh.signaling.directory import ChangeSink, RelaySink
from ifmesh.signaling.rooms import Presence, Roster, RosterChange, RosterGap

__all__ = ["RedisDirectory"]

log = logging.getLogger(__name__)

# Shared head of every script: key names, and announce() which bumps the room's version and
# publishes the change in the same atomic step (hence version order == publication order).
_HEAD = """
local p = ARGV[1]
local rooms_key = p .. 'rooms'
local function members_key(room) return p .. 'room:' .. room .. ':members' end
local function version_key(room) return p .. 'room:' .. room .. ':version' end
local function announce(room, kind, member, reason)
  local v = redis.call('INCR', version_key(room))
  redis.call('PUBLISH', p .. 'roster', '{"kind":"' .. kind .. '","room":' .. cjson.encode(room)
    .. ',"version":' .. v .. ',"reason":"' .. reason .. '","member":' .. member .. '}')
  return v
end
local function close_if_empty(room)
  if redis.call('HLEN', members_key(room)) == 0 then
    redis.call('SREM', rooms_key, room)
    redis.call('PEXPIRE', version_key(room), 86400000)
  end
end
"""

# ARGV: prefix, room, session, presence JSON, max peers, max rooms
_JOIN = (
    _HEAD
    + """
local room, session, presence = ARGV[2], ARGV[3], ARGV[4]
local previous = redis.call('HGET', members_key(room), session)
if not previous then
  if redis.call('HLEN', members_key(room)) >= tonumber(ARGV[5]) then return {'room_full'} end
  if redis.call('SISMEMBER', rooms_key, room) == 0
     and redis.call('SCARD', rooms_key) >= tonumber(ARGV[6]) then return {'too_many_rooms'} end
end
redis.call('SADD', rooms_key, room)
redis.call('PERSIST', version_key(room))
if previous then announce(room, 'left', previous, 'replaced') end
redis.call('HSET', members_key(room), session, presence)
local v = announce(room, 'joined', presence, '')
return {'ok', v, redis.call('HVALS', members_key(room))}
"""
)

# ARGV: prefix, room, session, connection id, reason
_LEAVE = (
    _HEAD
    + """
local room, session = ARGV[2], ARGV[3]
local current = redis.call('HGET', members_key(room), session)
if not current or cjson.decode(current)['conn'] ~= ARGV[4] then return 0 end
redis.call('HDEL', members_key(room), session)
announce(room, 'left', current, ARGV[5])
close_if_empty(room)
return 1
"""
)

# ARGV: prefix
_REAP = (
    _HEAD
    + """
local reaped = 0
for _, room in ipairs(redis.call('SMEMBERS', rooms_key)) do
  local entries = redis.call('HGETALL', members_key(room))
  for i = 1, #entries, 2 do
    local instance = cjson.decode(entries[i + 1])['instance']
    if redis.call('EXISTS', p .. 'instance:' .. instance) == 0 then
      redis.call('HDEL', members_key(room), entries[i])
      announce(room, 'left', entries[i + 1], 'expired')
      reaped = reaped + 1
    end
  end
  close_if_empty(room)
end
return reaped
"""
)

# ARGV: prefix, room
_SNAPSHOT = (
    _HEAD
    + """
local v = redis.call('GET', version_key(ARGV[2])) or '0'
return {v, redis.call('HVALS', members_key(ARGV[2]))}
"""
)


@dataclass
class _Mirror:
    roster: Roster
    local: set[str] = field(default_factory=set)  # connection ids of this instance's members
    synced: bool = False
    pending: list[RosterChange] = field(default_factory=list)  # changes seen before sync


class RedisDirectory:
    def __init__(self, config: ServerConfig, *, on_change: ChangeSink, on_relay: RelaySink) -> None:
        assert config.redis_url is not None
        self._config = config
        self._prefix = config.redis_prefix
        self._instance = config.instance_id
        self._on_change = on_change
        self._on_relay = on_relay
        self._redis: aioredis.Redis = aioredis.Redis.from_url(config.redis_url)
        self._join = self._redis.register_script(_JOIN)
        self._leave = self._redis.register_script(_LEAVE)
        self._reap = self._redis.register_script(_REAP)
        self._snapshot = self._redis.register_script(_SNAPSHOT)
        self._mirrors: dict[str, _Mirror] = {}
        self._retry_leaves: list[tuple[str, Presence, str]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._healthy = False
        self._subscribed = asyncio.Event()

    @property
    def _roster_channel(self) -> str:
        return f"{self._prefix}roster"

    def _relay_channel(self, instance: str) -> str:
        return f"{self._prefix}relay:{instance}"

    async def start(self) -> None:
        try:
            await self._renew_presence()
        except (RedisError, OSError) as exc:
            await self._redis.aclose()
            raise errors.ConfigError(
                f"cannot reach Redis at {self._config.redis_url}: {exc}; start redis-server "
                "or fix --redis"
            ) from None
        self._tasks = [
            asyncio.create_task(self._listen(), name="signaling-redis-listen"),
            asyncio.create_task(self._keep_presence(), name="signaling-redis-presence"),
        ]
        await asyncio.wait_for(self._subscribed.wait(), timeout=10)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(RedisError, OSError):
            await self._redis.delete(f"{self._prefix}instance:{self._instance}")
        await self._redis.aclose()

    def healthy(self) -> bool:
        return self._healthy

    def room_count(self) -> int:
        return len(self._mirrors)

    def lookup(self, room: str, session: str) -> Presence | None:
        mirror = self._mirrors.get(room)
        return mirror.roster.members.get(session) if mirror is not None else None

    async def join(self, room: str, member: Presence) -> Roster:
        mirror = self._mirrors.setdefault(room, _Mirror(Roster(room)))
        mirror.local.add(member.conn)
        limits = self._config.limits
        try:
            result = await self._join(
                args=[self._prefix, room, member.session, _dumps(member.as_dict()),
                      limits.max_peers, limits.max_rooms],
            )  # fmt: skip
        except (RedisError, OSError) as exc:
            self._forget(room, member.conn)
            raise errors.BackplaneUnavailable(f"Redis failed during join: {exc}") from None
        status = _text(result[0])
        if status != "ok":
            self._forget(room, member.conn)
            if status == "room_full":
                raise errors.RoomFull(f"room {room!r} has {limits.max_peers} members, its limit")
            raise errors.TooManyRooms(
                f"the servers hold {limits.max_rooms} rooms, their limit; join an existing room"
            )
        version = int(result[1])
        members = {p.session: p for p in (_presence(raw) for raw in result[2])}
        if not mirror.synced:
            self._adopt(mirror, version, members)
        return Roster(room, version, members)

    async def leave(self, room: str, member: Presence, reason: str) -> None:
        self._forget(room, member.conn)
        try:
            await self._leave(args=[self._prefix, room, member.session, member.conn, reason])
        except (RedisError, OSError) as exc:
            log.warning("leave_deferred room=%s session=%s error=%s", room, member.session, exc)
            self._retry_leaves.append((room, member, reason))

    async def forward(self, target: Presence, text: str, received_at: float) -> None:
        message = _dumps({"conn": target.conn, "text": text, "received_at": received_at})
        try:
            await self._redis.publish(self._relay_channel(target.instance), message)
        except (RedisError, OSError) as exc:
            raise errors.BackplaneUnavailable(f"Redis failed during relay: {exc}") from None

    # --- mirrors ------------------------------------------------------------------------------

    def _forget(self, room: str, conn: str) -> None:
        mirror = self._mirrors.get(room)
        if mirror is not None:
            mirror.local.discard(conn)
            if not mirror.local:
                del self._mirrors[room]

    def _adopt(self, mirror: _Mirror, version: int, members: dict[str, Presence]) -> None:
        """Makes a snapshot the mirror's base, then applies what arrived meanwhile."""
        roster = mirror.roster
        if mirror.synced and version < roster.version:
            # Redis lost its data (restarted without persistence): everyone must join again.
            changes = [
                RosterChange(roster.room, roster.version, "left", m, "expired")
                for m in roster.members.values()
            ]
            mirror.roster = Roster(roster.room, version, dict(members))
        else:
            changes = roster.reset(version, members.values())
        mirror.synced = True
        pending, mirror.pending = mirror.pending, []
        for change in changes:
            self._on_change(change)
        for change in sorted(pending, key=lambda c: c.version):
            self._apply(mirror, change)

    def _apply(self, mirror: _Mirror, change: RosterChange) -> None:
        if not mirror.synced:
            mirror.pending.append(change)
            return
        try:
            applied = mirror.roster.apply(change)
        except RosterGap as gap:
            log.warning("roster_gap %s; resynchronising", gap)
            asyncio.get_running_loop().create_task(self._resync(change.room))
            return
        if applied:
            self._on_change(change)

    async def _resync(self, room: str) -> None:
        try:
            version, raw = await self._snapshot(args=[self._prefix, room])
        except (RedisError, OSError) as exc:
            log.warning("resync_failed room=%s error=%s", room, exc)
            return
        mirror = self._mirrors.get(room)
        if mirror is not None:
            self._adopt(mirror, int(version), {p.session: p for p in map(_presence, raw)})

    # --- Redis tasks --------------------------------------------------------------------------

    async def _listen(self) -> None:
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._roster_channel, self._relay_channel(self._instance))
                confirmed = 0
                async for message in pubsub.listen():
                    if message["type"] == "subscribe":
                        confirmed += 1
                        if confirmed < 2:
                            continue
                        if self._subscribed.is_set():  # a reconnection: changes were missed
                            for room in list(self._mirrors):
                                await self._resync(room)
                        self._subscribed.set()
                    elif message["type"] == "message":
                        self._on_message(_text(message["channel"]), message["data"])
            except (RedisError, OSError) as exc:
                self._healthy = False
                log.warning("redis_subscription_lost error=%s", exc)
                await asyncio.sleep(0.5)  # reconnect backoff; Redis is down, not a test wait
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    def _on_message(self, channel: str, data: bytes) -> None:
        try:
            body = orjson.loads(data)
            if channel == self._roster_channel:
                change = RosterChange(
                    room=str(body["room"]),
                    version=int(body["version"]),
                    kind="joined" if body["kind"] == "joined" else "left",
                    member=Presence.from_dict(body["member"]),
                    reason=str(body["reason"]),
                )
                mirror = self._mirrors.get(change.room)
                if mirror is not None:
                    self._apply(mirror, change)
            else:
                self._on_relay(str(body["conn"]), str(body["text"]), float(body["received_at"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            log.warning("bad_backplane_message channel=%s error=%r", channel, exc)

    async def _keep_presence(self) -> None:
        interval = self._config.presence_ttl / 3
        while True:
            await asyncio.sleep(interval)  # the renewal period itself, not a wait for a condition
            try:
                await self._renew_presence()
                reaped = await self._reap(args=[self._prefix])
                if reaped:
                    log.info("reaped_expired_members count=%s", reaped)
                retry, self._retry_leaves = self._retry_leaves, []
                for room, member, reason in retry:
                    await self.leave(room, member, reason)
            except (RedisError, OSError) as exc:
                self._healthy = False
                log.warning("presence_renewal_failed error=%s", exc)

    async def _renew_presence(self) -> None:
        ttl_ms = int(self._config.presence_ttl * 1000)
        await self._redis.set(f"{self._prefix}instance:{self._instance}", "1", px=ttl_ms)
        self._healthy = True


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _presence(raw: Any) -> Presence:
    return Presence.from_dict(orjson.loads(raw))


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()
