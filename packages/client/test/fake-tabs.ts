/**
 * Browser tabs for the unit tests of sharing: a BroadcastChannel and Web Locks between them,
 * and tabs that can die (closed or crashed): their locks go to the next in line, and what they
 * posted but was not yet delivered is lost, as with a tab the browser tears down.
 */
import type {
  BroadcastChannelLike,
  LockManagerLike,
  SharingEnvironment,
} from "../src/shared-stream.ts";

export interface FakeTab {
  readonly name: string;
  readonly environment: SharingEnvironment;
  readonly dead: boolean;
  /** The tab is gone at once, without running any code of its own. */
  kill(): void;
}

export interface FakeBrowser {
  tab(name: string): FakeTab;
  /** Who holds each lock, by tab name. */
  holderOf(lock: string): string | undefined;
}

interface Waiter {
  tab: FakeTabImpl;
  callback: () => Promise<void>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface FakeTabImpl extends FakeTab {
  dead: boolean;
  channels: Set<FakeChannel>;
}

class FakeChannel implements BroadcastChannelLike {
  onmessage: ((event: MessageEvent) => unknown) | null = null;
  closed = false;

  constructor(
    readonly name: string,
    readonly tab: FakeTabImpl,
    readonly all: Set<FakeChannel>,
  ) {}

  postMessage(message: unknown): void {
    if (this.closed || this.tab.dead) return;
    // Structured clone, as a real BroadcastChannel makes; delivered as a task, never to itself.
    const data = structuredClone(message);
    for (const other of this.all) {
      if (other === this || other.name !== this.name) continue;
      setTimeout(() => {
        if (this.tab.dead || other.closed || other.tab.dead) return;
        other.onmessage?.(new MessageEvent("message", { data }));
      }, 0);
    }
  }

  close(): void {
    this.closed = true;
    this.all.delete(this);
  }
}

export function fakeBrowser(): FakeBrowser {
  const allChannels = new Set<FakeChannel>();
  const holders = new Map<string, FakeTabImpl>();
  const queues = new Map<string, Waiter[]>();

  function grantNext(lock: string): void {
    const queue = queues.get(lock) ?? [];
    const next = queue.shift();
    if (!next) {
      holders.delete(lock);
      return;
    }
    holders.set(lock, next.tab);
    void next.callback().then(
      (value) => {
        next.resolve(value);
        if (holders.get(lock) === next.tab && !next.tab.dead) grantNext(lock);
      },
      (error: unknown) => {
        next.reject(error);
        if (holders.get(lock) === next.tab && !next.tab.dead) grantNext(lock);
      },
    );
  }

  function tab(name: string): FakeTab {
    const locks: LockManagerLike = {
      request(lock, options, callback) {
        return new Promise((resolve, reject) => {
          if (self.dead) return;
          const waiter: Waiter = { tab: self, callback, resolve, reject };
          const queue = queues.get(lock) ?? [];
          queues.set(lock, queue);
          queue.push(waiter);
          options.signal?.addEventListener("abort", () => {
            const at = queue.indexOf(waiter);
            if (at < 0) return;
            queue.splice(at, 1);
            reject(new DOMException("the request was aborted", "AbortError"));
          });
          if (!holders.has(lock)) grantNext(lock);
        });
      },
    };
    const self: FakeTabImpl = {
      name,
      dead: false,
      channels: new Set(),
      environment: {
        locks,
        openChannel: (channelName) => {
          const channel = new FakeChannel(channelName, self, allChannels);
          allChannels.add(channel);
          self.channels.add(channel);
          return channel;
        },
      },
      kill() {
        self.dead = true;
        for (const channel of self.channels) channel.close();
        for (const queue of queues.values()) {
          for (let i = queue.length - 1; i >= 0; i -= 1) {
            if (queue[i]?.tab === self) queue.splice(i, 1);
          }
        }
        for (const [lock, holder] of [...holders]) if (holder === self) grantNext(lock);
      },
    };
    return self;
  }

  return { tab, holderOf: (lock) => holders.get(lock)?.name };
}
