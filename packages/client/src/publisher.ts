/**
 * The keep-alive publisher: publishes from a remote server into a Herald hub over HTTP, in
 * batches (`POST {basePath}` with `{"events": [{"channel", "message"}, …]}`, docs/PROTOCOL.md
 * section 5). Publishes made in one event-loop turn, or while a POST is out, go together in the
 * next POST, in the order they were made; one POST is out at a time, so the hub stores them in
 * that order. It needs only `fetch`, whose connections stay open between requests (Node's
 * fetch and browsers keep them alive), so it runs in Node, Deno, Bun, workers and browsers.
 */
import { ERROR_STATUS, isErrorBody, type PublishedMessageOf } from "@herald/protocol";
import { type ClientErrorCode, describeError, HeraldClientError } from "./errors.ts";

export interface PublisherOptions {
  /** The hub's events URL, where it serves `POST {basePath}`: `https://hub.example.com/api/v1/events`. */
  url: string | URL;
  /**
   * A token whose `publish` claim covers the channels, sent as `Authorization: Bearer`; or a
   * function called before every POST (for tokens that expire).
   */
  token: string | (() => string | Promise<string>);
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** Most events in one POST (default 1,000, the hub's `maxBatchEvents`). */
  maxBatch?: number;
  /** Most bytes of body in one POST (default 1 MiB, the hub's `maxBatchBytes`). */
  maxBatchBytes?: number;
  /**
   * How long a publish may wait for others to join its POST, in ms, counted from the oldest
   * publish of the batch (default 0: until the end of the event-loop turn). More gathers more
   * events per POST, which costs the hub less CPU per event, and delays each event by up to as
   * much.
   */
  lingerMs?: number;
}

export interface Publisher {
  /**
   * Queues a message for `channel` and resolves with its event id once the hub has stored it.
   * Rejects with a `HeraldClientError` carrying the hub's code and status (or `network`).
   */
  publish<T extends string>(channel: string, message: PublishedMessageOf<T>): Promise<string>;
  /** Sends what is queued now, and resolves once every publish made before it has settled. */
  flush(): Promise<void>;
  /** Flushes, then refuses further publishes with `client_closed`. */
  close(): Promise<void>;
}

interface Pending {
  /** `{"channel":…,"message":…}`, serialised when published: later changes to the message do not count. */
  json: string;
  bytes: number;
  /** When it was published (`performance.now()`): its batch goes `lingerMs` after. */
  at: number;
  /** Its place in the order of publishes, for flush(). */
  seq: number;
  promise: Promise<string>;
  resolve(id: string): void;
  reject(error: HeraldClientError): void;
}

/** `{"events":[` and `]}`. */
const BODY_OVERHEAD = 13;

export function createPublisher(options: PublisherOptions): Publisher {
  const url = String(options.url);
  const maxBatch = options.maxBatch ?? 1000;
  const maxBatchBytes = options.maxBatchBytes ?? 1024 * 1024;
  const lingerMs = options.lingerMs ?? 0;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) {
    throw new HeraldClientError(
      "invalid_options",
      `maxBatch must be an integer of 1 or more, not ${maxBatch}`,
    );
  }
  if (!(maxBatchBytes > BODY_OVERHEAD)) {
    throw new HeraldClientError(
      "invalid_options",
      `maxBatchBytes must be a number of bytes above ${BODY_OVERHEAD}, not ${maxBatchBytes}`,
    );
  }
  if (!(lingerMs >= 0)) {
    throw new HeraldClientError("invalid_options", `lingerMs must be 0 or more, not ${lingerMs}`);
  }
  // Called through globalThis: a browser's fetch refuses to run with another `this`.
  const post = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const queue: Pending[] = [];
  /** The batch whose POST is out. */
  let inFlight: Pending[] = [];
  let sending = false;
  let closed = false;
  let published = 0;
  /** Publishes up to this seq go without lingering (flush). */
  let hurryThrough = 0;
  /** Ends the sender's wait before its next POST at once: a batch is full, or flush(). */
  let wake: (() => void) | undefined;

  function publish(channel: string, message: unknown): Promise<string> {
    if (closed) {
      return Promise.reject(
        new HeraldClientError("client_closed", "publish after close(): create another publisher"),
      );
    }
    let json: string;
    try {
      const messageJson = JSON.stringify(message) as string | undefined;
      if (typeof messageJson !== "string" || !messageJson.startsWith("{"))
        throw new TypeError("not an object");
      json = `{"channel":${JSON.stringify(channel)},"message":${messageJson}}`;
    } catch (cause) {
      // Refused here: in the batch it would make the hub refuse the others with it.
      return Promise.reject(
        new HeraldClientError(
          "invalid_message",
          `the message to ${channel} is not a JSON object (${describeError(cause)})`,
          { cause },
        ),
      );
    }
    let resolve: (id: string) => void = () => {};
    let reject: (error: HeraldClientError) => void = () => {};
    const promise = new Promise<string>((resolvePublish, rejectPublish) => {
      resolve = resolvePublish;
      reject = rejectPublish;
    });
    published++;
    const at = performance.now();
    queue.push({ json, bytes: utf8Length(json), at, seq: published, promise, resolve, reject });
    if (!sending) {
      sending = true;
      void sendAll();
    } else if (queue.length >= maxBatch) wake?.();
    return promise;
  }

  /**
   * One POST after another while anything is queued. Each waits at least for the end of the
   * turn (a timer of 0 ms), so that the rest of the turn's publishes join it, and fetch has its
   * connection back (a request made in the turn the last answer came in got a second
   * connection); then until its oldest publish has waited `lingerMs`, unless woken.
   */
  async function sendAll(): Promise<void> {
    while (queue.length > 0) {
      const oldest = queue[0] as Pending;
      const due = oldest.seq <= hurryThrough || queue.length >= maxBatch;
      await pause(due ? 0 : Math.max(0, oldest.at + lingerMs - performance.now()));
      inFlight = takeBatch();
      await sendBatch(inFlight);
      inFlight = [];
    }
    sending = false;
  }

  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wake = done;
    });
  }

  /** The oldest publishes that fit in one POST: always at least one. */
  function takeBatch(): Pending[] {
    let count = 0;
    let bytes = BODY_OVERHEAD;
    for (const pending of queue) {
      const more = bytes + pending.bytes + (count > 0 ? 1 : 0);
      if (count > 0 && (count === maxBatch || more > maxBatchBytes)) break;
      bytes = more;
      count++;
    }
    return queue.splice(0, count);
  }

  async function sendBatch(batch: Pending[]): Promise<void> {
    let token: string;
    try {
      token = typeof options.token === "string" ? options.token : await options.token();
    } catch (cause) {
      const error = new HeraldClientError(
        "unauthorized",
        `the token function threw (${describeError(cause)}): nothing was sent`,
        { cause },
      );
      for (const pending of batch) pending.reject(error);
      return;
    }
    let status: number;
    let body: unknown;
    try {
      const response = await post(url, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: `{"events":[${batch.map((pending) => pending.json).join(",")}]}`,
      });
      status = response.status;
      // Read to the end whatever it says: only then can the connection carry the next POST.
      const text = await response.text();
      body = parseJson(text);
    } catch (cause) {
      const error = new HeraldClientError(
        "network",
        `no answer from the hub at ${url} (${describeError(cause)}): these events may or may not have been published`,
        { cause },
      );
      for (const pending of batch) pending.reject(error);
      return;
    }
    const ids = (body as { ids?: unknown } | undefined)?.ids;
    if (status === 201 && isIdList(ids) && ids.length === batch.length) {
      for (const [index, pending] of batch.entries()) pending.resolve(ids[index] as string);
      return;
    }
    const error = refusal(status, body);
    // The store failed partway: the hub says which ones it stored.
    if (isIdList(ids) && ids.length < batch.length) {
      for (const [index, pending] of batch.entries()) {
        const id = ids[index];
        if (id === undefined) pending.reject(error);
        else pending.resolve(id);
      }
      return;
    }
    // A refusal of one event (its channel, its message) published none: that one is refused
    // and the others go again, ahead of anything published since.
    const at = status < 500 && isErrorBody(body) ? indexOf(body.error.field) : undefined;
    if (at !== undefined && at < batch.length) {
      batch[at]?.reject(error);
      queue.unshift(...batch.slice(0, at), ...batch.slice(at + 1));
      return;
    }
    for (const pending of batch) pending.reject(error);
  }

  async function flush(): Promise<void> {
    const waiting = [...inFlight, ...queue].map((pending) => pending.promise);
    hurryThrough = published;
    wake?.();
    // Settled either way: each publish's own promise tells its caller how it went.
    await Promise.allSettled(waiting);
  }

  return {
    publish: publish as Publisher["publish"],
    flush,
    async close() {
      closed = true;
      await flush();
    },
  };
}

/** The error a publish of a refused batch rejects with: the hub's code, or one from the status. */
function refusal(status: number, body: unknown): HeraldClientError {
  if (isErrorBody(body) && body.error.code in ERROR_STATUS) {
    return new HeraldClientError(
      body.error.code,
      `the hub refused the publish with ${status} ${body.error.code}: ${body.error.message}`,
      { status },
    );
  }
  const code: ClientErrorCode = status === 401 ? "unauthorized" : "http_error";
  return new HeraldClientError(
    code,
    `the hub answered the publish with HTTP ${status}, not a Herald answer (check the url: it must be the hub's events path, such as https://hub.example.com/api/v1/events)`,
    { status },
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON: a proxy's page, answered as a status alone.
    return undefined;
  }
}

function isIdList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((id) => typeof id === "string");
}

/** `events[3].message` → 3. */
function indexOf(field: string | undefined): number | undefined {
  const match = field === undefined ? null : /^events\[(\d+)\]/.exec(field);
  return match ? Number(match[1]) : undefined;
}

/** Bytes of `text` in UTF-8; JSON.stringify leaves no lone surrogate, so a pair is 4 bytes. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    bytes += code < 0x800 || (code >= 0xd800 && code <= 0xdfff) ? 1 : 2;
  }
  return bytes;
}
