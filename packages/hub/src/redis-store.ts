/**
 * The Redis event store (PROTOCOL.md sections 3 and 6; ARCHITECTURE.md "How an event travels"):
 * history shared by every server and kept across their restarts, one sequence for all of them,
 * and every event announced to every server in sequence order.
 *
 * Keys, for a `keyPrefix` P (default `herald:`) and the current epoch E:
 *
 *   P epoch          the current epoch. Made once (atomically, by whichever server starts first)
 *                    and kept, so restarting servers does not make clients' ids foreign.
 *   P E:seq          the last seq given out (INCR). Its absence means Redis lost the history.
 *   P E:c:<channel>  the channel's history: a stream whose entry ids are `<seq>-0`, so reading
 *                    "after seq N" is `XRANGE (N+1)-0 +`. Fields: d (data), t (ts), a (when
 *                    appended, by this store's clock, for age trimming).
 *   P E:trimmed      hash channel → the highest seq that channel has dropped (by count or age).
 *   P E:channels     sorted set channel → when it was last appended to: finds channels whose
 *                    events have all expired, so they are swept away instead of kept forever.
 *   P E:forgotten    the highest seq lost with a swept channel (see the memory store).
 *   P E:log          every event of every channel (trimmed to `logMaxEvents`): what a server
 *                    whose subscriber connection was away catches up from.
 *   P events         the pub/sub channel every append is announced on.
 *
 * The data keys live under their epoch so that a new epoch starts from nothing: whatever
 * survived a partial loss can never collide with the new epoch's entry ids.
 *
 * Appending is one Lua script (INCR, XADD, trim, PUBLISH), so seqs, history and announcements
 * are in the same order everywhere. Redis Cluster needs every key in one slot: give the prefix
 * a hash tag, `{herald}:`.
 */
import { createHash } from "node:crypto";
import { HeraldError, newEpoch } from "@herald/protocol";
import { Redis, type RedisOptions } from "ioredis";
import { DEFAULT_HISTORY, type EventStore, type HistoryLimits, type StoredEvent } from "./store.ts";

export interface RedisStoreOptions extends HistoryLimits {
  /** Where Redis is (default `redis://127.0.0.1:6379`); ignored when `redis` is given. */
  url?: string;
  /** A connection whose options to use: the store makes its own two with `duplicate()`. */
  redis?: Redis;
  /** Put before every key and the pub/sub channel (default `herald:`). */
  keyPrefix?: string;
  /** The clock that dates events for age trimming, for tests (default `Date.now`). */
  now?: () => number;
  /** How long an append, read or check may wait for Redis before failing, in ms (default 2 s). */
  publishTimeoutMs?: number;
  /** Events kept in the log other servers catch up from after a disconnection (default 10,000). */
  logMaxEvents?: number;
  /** Told of failures no caller is waiting for (a lost connection); default: a process warning. */
  onError?: (error: HeraldError) => void;
}

const DEFAULT_URL = "redis://127.0.0.1:6379";
/** Channels whose events have all expired that one append sweeps away, at most. */
const SWEEP_PER_APPEND = 8;
/** Log entries fetched per round trip while catching up. */
const CATCH_UP_BATCH = 500;
const RETRY_CATCH_UP_MS = 250;

interface Script {
  readonly lua: string;
  readonly sha: string;
}

function script(lua: string): Script {
  return { lua, sha: createHash("sha1").update(lua).digest("hex") };
}

const LUA_HELPERS = `
local NL = string.char(10)
local function seqOf(id) return tonumber(string.match(id, '^(%d+)')) end
local function idOf(seq) return string.format('%d-0', seq) end
local function fieldOf(fields, name)
  for i = 1, #fields, 2 do if fields[i] == name then return fields[i + 1] end end
  return nil
end
`;

/**
 * Returns the epoch in use and its head, making a new epoch where there is none or where its
 * sequence is gone (Redis lost the history): old ids then become foreign, never misread.
 * KEYS: P epoch. ARGV: a new epoch to use if needed, the seq to start it from.
 */
const INIT = script(`
local base = string.sub(KEYS[1], 1, -6)
local epoch = redis.call('GET', KEYS[1])
if epoch then
  local seq = redis.call('GET', base .. epoch .. ':seq')
  if seq then return { epoch, seq } end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', base .. ARGV[1] .. ':seq', ARGV[2])
return { ARGV[1], ARGV[2] }
`);

/**
 * Leaves an epoch Redis came back behind on (a restored backup, a failover to a lagging
 * replica, `appendfsync everysec` after a crash): a new epoch whose sequence starts at ARGV[3],
 * above every seq the caller saw, unless another server already left it, whose new epoch is
 * then used, its sequence raised to ARGV[3] if lower. KEYS: P epoch. ARGV: the epoch left, a
 * new epoch, the seq to start from. Returns the epoch in use and its head.
 */
const ROLL = script(`
local base = string.sub(KEYS[1], 1, -6)
local current = redis.call('GET', KEYS[1])
local seq = nil
if current and current ~= ARGV[1] then seq = redis.call('GET', base .. current .. ':seq') end
if not seq then
  redis.call('SET', KEYS[1], ARGV[2])
  redis.call('SET', base .. ARGV[2] .. ':seq', ARGV[3])
  return { ARGV[2], ARGV[3] }
end
if tonumber(seq) < tonumber(ARGV[3]) then
  redis.call('SET', base .. current .. ':seq', ARGV[3])
  seq = ARGV[3]
end
return { current, seq }
`);

/**
 * KEYS: 1 P epoch, 2 seq, 3 the channel's stream, 4 log, 5 trimmed, 6 forgotten, 7 channels.
 * ARGV: 1 epoch, 2 channel, 3 data, 4 ts, 5 now, 6 maxEvents, 7 maxAgeMs, 8 logMaxEvents,
 * 9 pub/sub channel, 10 sweep limit, 11 the highest seq this server has seen. Returns the seq,
 * -1 if the epoch is no longer current, -2 if the sequence is behind that highest seq.
 */
const APPEND = script(`${LUA_HELPERS}
if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
-- Behind a seq this server saw given out: Redis came back from an older state. INCR would
-- give out an id twice; the caller moves to a new epoch instead.
if tonumber(redis.call('GET', KEYS[2])) < tonumber(ARGV[11]) then return -2 end
local channel = ARGV[2]
local at = tonumber(ARGV[5])
local oldest = at - tonumber(ARGV[7])
local seq = redis.call('INCR', KEYS[2])
local id = idOf(seq)
if not redis.call('ZSCORE', KEYS[7], channel) then
  -- This channel may have been swept, taking what it lost with it: a reader from before that
  -- must still hear of the loss, not only get the new events.
  local forgotten = tonumber(redis.call('GET', KEYS[6]) or '0')
  if forgotten > 0 then redis.call('HSET', KEYS[5], channel, forgotten) end
end
redis.call('XADD', KEYS[3], id, 'd', ARGV[3], 't', ARGV[4], 'a', ARGV[5])
redis.call('ZADD', KEYS[7], at, channel)
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[8], id, 'c', channel, 'd', ARGV[3], 't', ARGV[4])

-- Trimmed by hand rather than by XADD's MAXLEN, to know the last seq dropped (for "expired").
local cut = 0
local excess = redis.call('XLEN', KEYS[3]) - tonumber(ARGV[6])
if excess > 0 then
  local dropped = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', excess)
  cut = seqOf(dropped[#dropped][1])
end
-- Ids are seqs, not times, so age is read from the entries: usually the first one is young.
local batch = 1
while true do
  local start = '-'
  if cut > 0 then start = idOf(cut + 1) end
  local entries = redis.call('XRANGE', KEYS[3], start, '+', 'COUNT', batch)
  local done = #entries == 0
  for _, entry in ipairs(entries) do
    if tonumber(fieldOf(entry[2], 'a')) > oldest then done = true break end
    cut = seqOf(entry[1])
  end
  if done then break end
  batch = math.min(batch * 4, 256)
end
if cut > 0 then
  redis.call('XTRIM', KEYS[3], 'MINID', idOf(cut + 1))
  if cut > tonumber(redis.call('HGET', KEYS[5], channel) or '0') then
    redis.call('HSET', KEYS[5], channel, cut)
  end
end

local stale = redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', oldest, 'LIMIT', 0, tonumber(ARGV[10]))
if #stale > 0 then
  local base = string.sub(KEYS[3], 1, #KEYS[3] - #channel)
  local forgotten = tonumber(redis.call('GET', KEYS[6]) or '0')
  for _, name in ipairs(stale) do
    local key = base .. name
    local lost = tonumber(redis.call('HGET', KEYS[5], name) or '0')
    local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
    if last[1] then lost = math.max(lost, seqOf(last[1][1])) end
    forgotten = math.max(forgotten, lost)
    redis.call('DEL', key)
    redis.call('HDEL', KEYS[5], name)
    redis.call('ZREM', KEYS[7], name)
  end
  redis.call('SET', KEYS[6], string.format('%d', forgotten))
end

redis.call('PUBLISH', ARGV[9], ARGV[1] .. NL .. string.format('%d', seq) .. NL .. ARGV[4] .. NL .. channel .. NL .. ARGV[3])
return seq
`);

/**
 * One consistent snapshot: a trim between reading a channel's events and its trimmed mark
 * could otherwise hide a loss. KEYS: 1 P epoch, 2 seq, 3 trimmed, 4 forgotten, 5.. the
 * channels' streams. ARGV: 1 epoch, 2 the first id to read, 3.. the channel names.
 * Returns -1 if the epoch is no longer current.
 */
const READ = script(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
local result = { redis.call('GET', KEYS[2]), redis.call('GET', KEYS[4]) or '0' }
for i = 5, #KEYS do
  result[#result + 1] = {
    redis.call('EXISTS', KEYS[i]),
    redis.call('HGET', KEYS[3], ARGV[i - 2]) or '0',
    redis.call('XRANGE', KEYS[i], ARGV[2], '+'),
  }
end
return result
`);

/** A Redis reply of an unexpected shape: a bug or a foreign key in our prefix, not an outage. */
function badReply(what: string): HeraldError {
  return new HeraldError(
    "internal",
    `Redis answered ${what} in a shape the event store does not know: is another program using its key prefix?`,
  );
}

function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw badReply(what);
  return value;
}

function asNumber(value: unknown, what: string): number {
  const number = typeof value === "string" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isSafeInteger(number)) throw badReply(what);
  return number;
}

function asString(value: unknown, what: string): string {
  if (typeof value !== "string") throw badReply(what);
  return value;
}

function fieldsOf(value: unknown, what: string): Map<string, string> {
  const list = asArray(value, what);
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < list.length; i += 2) {
    fields.set(asString(list[i], what), asString(list[i + 1], what));
  }
  return fields;
}

function seqOfId(id: string): number {
  return Number(id.slice(0, id.indexOf("-")));
}

/** Parses `epoch \n seq \n ts \n channel \n data` (data last: it may hold anything). */
function parseAnnouncement(message: string): { epoch: string; event: StoredEvent } | undefined {
  const ends: number[] = [];
  let from = 0;
  for (let i = 0; i < 4; i++) {
    const at = message.indexOf("\n", from);
    if (at < 0) return undefined;
    ends.push(at);
    from = at + 1;
  }
  const [a, b, c, d] = ends as [number, number, number, number];
  const epoch = message.slice(0, a);
  const seq = Number(message.slice(a + 1, b));
  const ts = Number(message.slice(b + 1, c));
  if (!Number.isSafeInteger(seq) || !Number.isFinite(ts)) return undefined;
  const channel = message.slice(c + 1, d);
  return { epoch, event: { id: `${epoch}-${seq}`, seq, channel, data: message.slice(d + 1), ts } };
}

/** Where a connection goes, for messages: host and port only, never a password in a URL. */
function addressOf(redis: Redis): string {
  const { host, port, path } = redis.options;
  return path ? path : `${host ?? "127.0.0.1"}:${port ?? 6379}`;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The Redis event store. Resolves once both connections are up and the epoch is known; rejects
 * with `unavailable` if Redis cannot be reached.
 *
 * While Redis is away, `append`, `read`, `head` and `check` fail with `unavailable` within
 * `publishTimeoutMs` (nothing waits in a queue), and everything works again once it is back,
 * with no restart. An append that resolved is in Redis; one that failed may still have been
 * applied if the connection died after Redis ran it (the answer was lost, not the write).
 * Durability across a crash of Redis itself is Redis's: `appendonly yes` with
 * `appendfsync always` loses nothing acknowledged.
 *
 * Live delivery: a dedicated subscriber connection receives every announcement, in seq order.
 * Pub/sub drops what is published while a subscriber is disconnected, so the store remembers
 * the last seq it delivered and, when it sees a gap or its subscriber comes back, reads the
 * missing events from the log before delivering anything newer. The log, rather than the
 * channels' streams, because the store does not know which channels its listeners want.
 */
export async function createRedisStore(options: RedisStoreOptions = {}): Promise<EventStore> {
  const limits: Required<HistoryLimits> = {
    maxEvents: options.maxEvents ?? DEFAULT_HISTORY.maxEvents,
    maxAgeMs: options.maxAgeMs ?? DEFAULT_HISTORY.maxAgeMs,
  };
  const now = options.now ?? Date.now;
  const prefix = options.keyPrefix ?? "herald:";
  const timeoutMs = options.publishTimeoutMs ?? 2000;
  const logMaxEvents = options.logMaxEvents ?? 10_000;
  const onError = options.onError ?? ((error: HeraldError) => process.emitWarning(error));
  const epochKey = `${prefix}epoch`;
  const announcements = `${prefix}events`;

  // Reconnect soon after Redis is back, without hammering it while it is away.
  const retryStrategy = (times: number) => Math.min(times * 100, 1000);
  const commandOptions: RedisOptions = {
    lazyConnect: true,
    retryStrategy,
    // Fail at once while disconnected, and fail what was in flight when the connection dropped,
    // rather than queueing: a publisher is answered 503 now instead of hanging, and a write is
    // never silently sent again later.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: timeoutMs,
  };
  const subscriberOptions: RedisOptions = {
    lazyConnect: true,
    retryStrategy,
    // Resubscribed by hand on `ready`, so the store knows when to catch up.
    autoResubscribe: false,
    maxRetriesPerRequest: null,
  };
  const cmd = options.redis
    ? options.redis.duplicate(commandOptions)
    : new Redis(options.url ?? DEFAULT_URL, commandOptions);
  const sub = options.redis
    ? options.redis.duplicate(subscriberOptions)
    : new Redis(options.url ?? DEFAULT_URL, subscriberOptions);
  const where = addressOf(cmd);

  let epoch = "";
  let closed = false;
  let subscribed = false;
  /** The highest seq handed to listeners, and the epoch it belongs to. */
  let delivered = 0;
  let deliveredEpoch = "";
  /** The highest seq this store has seen: a new epoch starts above it (see `reinitialise`). */
  let highest = 0;
  const listeners = new Set<(event: StoredEvent) => void>();

  // One report per outage and connection: ioredis reports every failed reconnection attempt.
  const down = { cmd: false, sub: false };
  let lastConnectError: unknown;
  function watch(connection: Redis, name: "cmd" | "sub", role: string): void {
    connection.on("error", (error: unknown) => {
      lastConnectError = error;
      if (down[name] || closed || !epoch) return;
      down[name] = true;
      onError(
        new HeraldError(
          "unavailable",
          `lost the Redis ${role} connection to ${where} (${reasonOf(error)}); reconnecting`,
          { cause: error },
        ),
      );
    });
    connection.on("ready", () => {
      down[name] = false;
    });
  }
  watch(cmd, "cmd", "command");
  watch(sub, "sub", "subscriber");

  function unavailable(what: string, cause: unknown): HeraldError {
    return new HeraldError(
      "unavailable",
      `the Redis event store at ${where} could not ${what}: ${reasonOf(cause)}. It reconnects by itself; retry shortly`,
      { cause },
    );
  }

  function assertOpen(): void {
    if (closed) throw new HeraldError("unavailable", "the Redis event store is closed");
  }

  async function run(what: string, s: Script, keys: string[], args: string[]): Promise<unknown> {
    if (cmd.status !== "ready") throw unavailable(what, new Error(`not connected (${cmd.status})`));
    try {
      try {
        return await cmd.evalsha(s.sha, keys.length, ...keys, ...args);
      } catch (error) {
        // Redis forgets scripts when it restarts; NOSCRIPT means it did not run, so send it whole.
        if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) throw error;
        return await cmd.eval(s.lua, keys.length, ...keys, ...args);
      }
    } catch (error) {
      throw unavailable(what, error);
    }
  }

  function keysOf(forEpoch: string) {
    const space = `${prefix}${forEpoch}:`;
    return {
      seq: `${space}seq`,
      log: `${space}log`,
      trimmed: `${space}trimmed`,
      forgotten: `${space}forgotten`,
      channels: `${space}channels`,
      channel: (channel: string) => `${space}c:${channel}`,
    };
  }

  async function initialise(): Promise<number> {
    const reply = asArray(
      await run("load its epoch", INIT, [epochKey], [newEpoch(), String(highest)]),
      "the epoch",
    );
    epoch = asString(reply[0], "the epoch");
    return asNumber(reply[1], "the epoch's head");
  }

  let reinitialising: Promise<void> | undefined;
  /**
   * Redis lost the history (its epoch or sequence is gone), or came back behind what this
   * store saw (`behind`): move to the epoch now current, making one if no server has yet. The
   * new sequence starts above every seq this store has seen, so no id is ever given out twice.
   * Open streams are closed (the gap listeners): their clients come back with ids of the old
   * epoch and get stream_reset, rather than silently missing what the rollback took.
   */
  function reinitialise(lostEpoch: string, behind = false): Promise<void> {
    if (epoch !== lostEpoch) return Promise.resolve();
    const moving = behind
      ? run(
          "leave the epoch Redis came back behind on",
          ROLL,
          [epochKey],
          [lostEpoch, newEpoch(), String(highest)],
        ).then((reply) => {
          const parts = asArray(reply, "the epoch");
          epoch = asString(parts[0], "the epoch");
          return asNumber(parts[1], "the epoch's head");
        })
      : initialise();
    reinitialising ??= moving.then(
      () => {
        reinitialising = undefined;
        onError(
          new HeraldError(
            "unavailable",
            behind
              ? `Redis at ${where} came back behind seq ${highest} of epoch ${lostEpoch}, which this server saw given out (a restored backup, a lagging replica, or appendfsync everysec after a crash); now on epoch ${epoch}: streams are closed and clients get stream_reset`
              : `Redis at ${where} lost the event history of epoch ${lostEpoch}; now on epoch ${epoch}: clients resuming from older ids get stream_reset`,
          ),
        );
        for (const onGap of gapListeners) onGap(delivered, highest);
      },
      (error: unknown) => {
        reinitialising = undefined;
        throw error;
      },
    );
    return reinitialising;
  }

  // Live delivery, in seq order, through one queue (see the function's comment).
  const inbox: { epoch: string; event: StoredEvent }[] = [];
  const gapListeners = new Set<(afterSeq: number, untilSeq: number) => void>();
  let catchUpWanted = false;
  let filling = false;
  let fillFailing = false;
  let retryTimer: NodeJS.Timeout | undefined;

  /** Tells the gap listeners (and `onError`) that events went by unheard. */
  function missed(afterSeq: number, untilSeq: number): void {
    onError(
      new HeraldError(
        "unavailable",
        `${untilSeq - afterSeq} events (after seq ${afterSeq}) were no longer in the Redis log when this server came back for them; listeners were told, so that hubs close their streams and clients resume from the channels' history: raise logMaxEvents`,
      ),
    );
    for (const onGap of gapListeners) onGap(afterSeq, untilSeq);
  }

  function deliver(event: StoredEvent, ofEpoch: string): void {
    delivered = event.seq;
    deliveredEpoch = ofEpoch;
    if (event.seq > highest) highest = event.seq;
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        // One listener's failure must not stop the others, nor the store's delivery.
        onError(
          new HeraldError("internal", "an event store listener threw", {
            cause: error,
          }),
        );
      }
    }
  }

  /** Delivers the logged events of `logEpoch` with seqs up to `last` not yet delivered. */
  async function fillFromLog(logEpoch: string, last: number | "+"): Promise<void> {
    const key = keysOf(logEpoch).log;
    for (;;) {
      if (last !== "+" && delivered >= last) return;
      if (cmd.status !== "ready") throw new Error(`not connected (${cmd.status})`);
      const entries = await cmd.xrange(
        key,
        `${delivered + 1}-0`,
        last === "+" ? "+" : `${last}-0`,
        "COUNT",
        CATCH_UP_BATCH,
      );
      for (const [id, list] of entries) {
        const seq = seqOfId(id);
        if (seq <= delivered || closed) continue;
        // The log was trimmed past what this server delivered last.
        if (seq > delivered + 1 && logEpoch === deliveredEpoch) missed(delivered, seq - 1);
        const fields = fieldsOf(list, "a log entry");
        const channel = fields.get("c");
        const data = fields.get("d");
        const ts = Number(fields.get("t"));
        if (channel === undefined || data === undefined) throw badReply("a log entry");
        deliver({ id: `${logEpoch}-${seq}`, seq, channel, data, ts }, logEpoch);
      }
      if (entries.length < CATCH_UP_BATCH) return;
    }
  }

  /** Reads from the log what `pump` cannot deliver without: a gap, or a wanted catch-up. */
  async function fill(): Promise<void> {
    if (catchUpWanted) {
      // Redis is back: with its data, without it, or with older data than it had.
      const used = epoch;
      const head = await cmd.get(keysOf(used).seq);
      if (head === null || Number(head) < highest) {
        await reinitialise(used, head !== null);
        catchUpWanted = false;
        return;
      }
      await fillFromLog(epoch, "+");
      catchUpWanted = false;
      return;
    }
    const next = inbox[0];
    if (!next || next.event.seq <= delivered + 1) return;
    await fillFromLog(next.epoch, next.event.seq - 1);
    // A new epoch starts its sequence with a jump; within one, a hole means the log was
    // trimmed before this server came back for it.
    if (next.event.seq > delivered + 1 && next.epoch === deliveredEpoch) {
      missed(delivered, next.event.seq - 1);
    }
    // Whatever is missing is not coming: let the next event through.
    if (next.event.seq > delivered + 1) delivered = next.event.seq - 1;
  }

  /**
   * Delivers what the inbox holds, synchronously while it continues the sequence (the usual
   * case, so no event waits for a later tick); a gap or a catch-up is filled from the log
   * first, and everything after it waits until that is done.
   */
  function pump(): void {
    if (filling || closed || !epoch) return;
    for (;;) {
      const next = inbox[0];
      if (catchUpWanted || (next && next.event.seq > delivered + 1)) break;
      if (!next) return;
      inbox.shift();
      if (next.event.seq > delivered) deliver(next.event, next.epoch);
    }
    filling = true;
    fill().then(
      () => {
        filling = false;
        fillFailing = false;
        pump();
      },
      (error: unknown) => {
        filling = false;
        // Reported once per streak: it fails on every retry while Redis is away.
        if (!fillFailing) {
          fillFailing = true;
          onError(unavailable("catch up with the events it missed; retrying", error));
        }
        clearTimeout(retryTimer);
        retryTimer = setTimeout(pump, RETRY_CATCH_UP_MS);
        retryTimer.unref();
      },
    );
  }

  sub.on("message", (channel: string, message: string) => {
    if (channel !== announcements || closed) return;
    const parsed = parseAnnouncement(message);
    if (!parsed) {
      onError(badReply("an announcement"));
      return;
    }
    // Another server moved to a new epoch (Redis lost the history); appends check the epoch
    // atomically, so every announcement of the old one came before this.
    if (parsed.epoch !== epoch && epoch) {
      epoch = parsed.epoch;
      // What this server's streams were told may be gone from the history: they start again.
      for (const onGap of gapListeners) onGap(delivered, parsed.event.seq - 1);
    }
    inbox.push(parsed);
    pump();
  });

  async function subscribe(): Promise<void> {
    await sub.subscribe(announcements);
    subscribed = true;
  }

  sub.on("close", () => {
    subscribed = false;
  });

  try {
    await Promise.all([cmd.connect(), sub.connect()]);
    // Subscribed before the head is read, so nothing appended after that head is missed.
    await subscribe();
    delivered = await initialise();
    deliveredEpoch = epoch;
    highest = delivered;
  } catch (error) {
    cmd.disconnect();
    sub.disconnect();
    const reason = reasonOf(lastConnectError ?? error);
    throw new HeraldError(
      "unavailable",
      `cannot reach Redis at ${where} (${reason}): start Redis there, or give the event store another url`,
      { cause: error },
    );
  }
  pump();

  sub.on("ready", () => {
    if (closed) return;
    subscribe().then(
      () => {
        // Announcements made while the subscriber was away are gone; the log still has them.
        catchUpWanted = true;
        pump();
      },
      (error: unknown) => {
        // It fails only if the connection dropped again; the next `ready` tries again.
        onError(unavailable("resubscribe to its announcements", error));
      },
    );
  });

  async function quit(connection: Redis): Promise<void> {
    if (connection.status !== "ready") {
      connection.disconnect();
      return;
    }
    try {
      await connection.quit();
    } catch (error) {
      // QUIT failed because the connection is already going; dropping it is all close needs.
      connection.disconnect();
      onError(unavailable("close its connection cleanly", error));
    }
  }

  return {
    get epoch() {
      return epoch;
    },

    async append(channel, data, ts) {
      assertOpen();
      if (channel.includes("\n")) {
        throw new HeraldError("invalid_channel", "a channel name cannot contain a line break");
      }
      for (let attempt = 0; ; attempt++) {
        const used = epoch;
        const keys = keysOf(used);
        const reply = await run(
          "append the event",
          APPEND,
          [
            epochKey,
            keys.seq,
            keys.channel(channel),
            keys.log,
            keys.trimmed,
            keys.forgotten,
            keys.channels,
          ],
          [
            used,
            channel,
            data,
            String(ts),
            String(now()),
            String(limits.maxEvents),
            String(limits.maxAgeMs),
            String(logMaxEvents),
            announcements,
            String(SWEEP_PER_APPEND),
            String(highest),
          ],
        );
        const seq = asNumber(reply, "the appended seq");
        if (seq > 0) {
          if (seq > highest) highest = seq;
          return { id: `${used}-${seq}`, seq, channel, data, ts };
        }
        if (attempt > 0) {
          throw new HeraldError(
            "unavailable",
            `Redis at ${where} keeps losing the event history: is it short of memory and evicting keys? Use maxmemory-policy noeviction`,
          );
        }
        await reinitialise(used, seq === -2);
      }
    },

    async read(channels, afterSeq) {
      assertOpen();
      const names = [...new Set(channels)];
      const used = epoch;
      const keys = keysOf(used);
      const reply = await run(
        "read the history",
        READ,
        [epochKey, keys.seq, keys.trimmed, keys.forgotten, ...names.map(keys.channel)],
        [used, `${afterSeq + 1}-0`, ...names],
      );
      if (reply === -1) {
        await reinitialise(used);
        // The position asked for belongs to the lost history: the caller must start again and
        // will find the epoch changed.
        throw new HeraldError(
          "unavailable",
          `Redis at ${where} lost the event history this read was for; reconnect to resume`,
        );
      }
      const parts = asArray(reply, "the history");
      const head = asNumber(parts[0], "the head");
      const forgotten = asNumber(parts[1], "the forgotten seq");
      const oldest = now() - limits.maxAgeMs;
      const expired: string[] = [];
      const events: StoredEvent[] = [];
      for (const [i, channel] of names.entries()) {
        const [exists, trimmed, entries] = asArray(parts[i + 2], "a channel's history");
        let lost =
          asNumber(exists, "a channel's existence") === 1
            ? asNumber(trimmed, "a channel's trimmed seq") > afterSeq
            : forgotten > afterSeq;
        for (const entry of asArray(entries, "a channel's events")) {
          const [id, list] = asArray(entry, "an event");
          const seq = seqOfId(asString(id, "an event id"));
          const fields = fieldsOf(list, "an event");
          // Trimmed by age on read too: appends trim only the channel they append to.
          if (Number(fields.get("a")) <= oldest) {
            lost = true;
            continue;
          }
          const data = fields.get("d");
          if (data === undefined) throw badReply("an event");
          events.push({ id: `${used}-${seq}`, seq, channel, data, ts: Number(fields.get("t")) });
        }
        if (lost) expired.push(channel);
      }
      if (names.length > 1) events.sort((a, b) => a.seq - b.seq);
      return { events, expired, head };
    },

    async head() {
      assertOpen();
      for (let attempt = 0; ; attempt++) {
        const used = epoch;
        if (cmd.status !== "ready") {
          throw unavailable("read its head", new Error(`not connected (${cmd.status})`));
        }
        let value: string | null;
        try {
          value = await cmd.get(keysOf(used).seq);
        } catch (error) {
          throw unavailable("read its head", error);
        }
        if (value !== null) return asNumber(value, "the head");
        if (attempt > 0) throw unavailable("read its head", new Error("the sequence is missing"));
        await reinitialise(used);
      }
    },

    onEvent(listener, onGap) {
      listeners.add(listener);
      if (onGap) gapListeners.add(onGap);
      return () => {
        listeners.delete(listener);
        if (onGap) gapListeners.delete(onGap);
      };
    },

    async check() {
      assertOpen();
      if (!subscribed) {
        throw new HeraldError(
          "unavailable",
          `the Redis subscriber connection to ${where} is down: events from other servers are not arriving`,
        );
      }
      if (cmd.status !== "ready")
        throw unavailable("answer", new Error(`not connected (${cmd.status})`));
      try {
        await cmd.ping();
      } catch (error) {
        throw unavailable("answer", error);
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(retryTimer);
      listeners.clear();
      inbox.length = 0;
      await Promise.all([quit(cmd), quit(sub)]);
    },
  };
}
