/**
 * An EventSource the unit tests drive by hand: open it, feed it events, make it drop (as
 * EventSource does while it retries by itself) or fail for good (as on an HTTP refusal).
 */
import type {
  EventSourceConstructor,
  EventSourceInitLike,
  EventSourceLike,
} from "../src/event-source.ts";

export interface FakeEventSource extends EventSourceLike {
  readonly init?: EventSourceInitLike | undefined;
  readonly closed: boolean;
  /** The query of its URL, for assertions on channels and cursor. */
  readonly query: URLSearchParams;
  open(): void;
  emit(id: string, message: Record<string, unknown>): void;
  emitRaw(id: string, data: string): void;
  /** A dropped connection EventSource retries by itself: error with readyState CONNECTING. */
  drop(message?: string): void;
  /** EventSource gave up for good: error with readyState CLOSED, and `code` where given. */
  fail(status?: number): void;
}

export interface FakeEventSources {
  EventSource: EventSourceConstructor;
  readonly instances: FakeEventSource[];
  /** The newest instance; throws where there is none, so a test fails at the right line. */
  last(): FakeEventSource;
}

export function fakeEventSources(): FakeEventSources {
  const instances: FakeEventSource[] = [];

  class Fake implements FakeEventSource {
    readyState = 0;
    onopen: ((event: Event) => unknown) | null = null;
    onmessage: ((event: MessageEvent) => unknown) | null = null;
    onerror: ((event: Event) => unknown) | null = null;
    closed = false;
    readonly query: URLSearchParams;

    constructor(
      readonly url: string,
      readonly init?: EventSourceInitLike,
    ) {
      this.query = new URL(url, "http://page.test").searchParams;
      instances.push(this);
    }

    close(): void {
      this.readyState = 2;
      this.closed = true;
    }

    open(): void {
      this.readyState = 1;
      this.onopen?.(new Event("open"));
    }

    emit(id: string, message: Record<string, unknown>): void {
      this.emitRaw(id, JSON.stringify({ ts: 1, ...message }));
    }

    emitRaw(id: string, data: string): void {
      this.onmessage?.(new MessageEvent("message", { data, lastEventId: id }));
    }

    drop(message?: string): void {
      this.readyState = 0;
      this.onerror?.(Object.assign(new Event("error"), message ? { message } : {}));
    }

    fail(status?: number): void {
      this.readyState = 2;
      this.onerror?.(
        Object.assign(new Event("error"), status === undefined ? {} : { code: status }),
      );
    }
  }

  return {
    EventSource: Fake,
    instances,
    last() {
      const source = instances.at(-1);
      if (!source) throw new Error("no EventSource was opened");
      return source;
    },
  };
}
