import { type EventSourceFetchInit, EventSource as EventSourcePackage } from "eventsource";
import { afterEach, describe, expect, expectTypeOf, it, vi } from "vitest";
import { fakeEventSources } from "../test/fake-event-source.ts";
import type { StreamFailure } from "./errors.ts";
import {
  chooseEventSource,
  createSourceFetch,
  type EventSourceConstructor,
  errorEventDetails,
  supportsFetchOption,
} from "./event-source.ts";

const INIT: EventSourceFetchInit = {
  signal: undefined,
  headers: { Accept: "text/event-stream", "Last-Event-ID": "e1-4" },
  mode: "cors",
  cache: "no-store",
  redirect: "follow",
};

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("createSourceFetch", () => {
  it("adds the caller's headers to EventSource's own, read again for every request", async () => {
    const fetch = vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) => new Response(""));
    let n = 0;
    const sourceFetch = createSourceFetch(
      fetch,
      () => ({ Authorization: `Bearer ${n++}` }),
      () => {},
    );
    await sourceFetch("http://hub.test/events", INIT);
    await sourceFetch("http://hub.test/events", INIT);

    expect(fetch.mock.calls.map(([, init]) => init?.headers)).toEqual([
      { Accept: "text/event-stream", "Last-Event-ID": "e1-4", Authorization: "Bearer 0" },
      { Accept: "text/event-stream", "Last-Event-ID": "e1-4", Authorization: "Bearer 1" },
    ]);
  });

  it("keeps what a refusal said, which EventSource's error event would not carry", async () => {
    const fetch = async () =>
      new Response(JSON.stringify({ error: { code: "unavailable", message: "store down" } }), {
        status: 503,
        headers: { "content-type": "application/json", "retry-after": "3" },
      });
    const refusals: StreamFailure[] = [];
    const response = await createSourceFetch(fetch, undefined, (failure) => refusals.push(failure))(
      "http://hub.test/events",
      INIT,
    );

    expect(response.status).toBe(503);
    expect(refusals).toEqual([
      {
        code: "unavailable",
        status: 503,
        message: expect.stringContaining("store down"),
        retryAfterMs: 3000,
      },
    ]);
  });

  it("notes a refusal whose JSON body is broken, keeping its status", async () => {
    const fetch = async () =>
      new Response("{oops", { status: 502, headers: { "content-type": "application/json" } });
    const refusals: StreamFailure[] = [];
    await createSourceFetch(fetch, undefined, (failure) => refusals.push(failure))(
      "http://x",
      INIT,
    );
    expect(refusals[0]).toMatchObject({ code: "http_error", status: 502 });
    expect(refusals[0]?.message).toMatch(/could not be read/);
  });
});

describe("choosing an EventSource", () => {
  it("prefers the global EventSource, and the package where headers are needed", async () => {
    const { EventSource: Native } = fakeEventSources();
    vi.stubGlobal("EventSource", Native);
    expect(chooseEventSource(undefined, false)).toEqual({ EventSource: Native, passFetch: false });
    const withHeaders = chooseEventSource(undefined, true);
    expect(withHeaders).not.toHaveProperty("EventSource");
    expect(withHeaders.passFetch).toBe(true);
    expect("load" in withHeaders && (await withHeaders.load())).toBe(EventSourcePackage);
  });

  it("loads the eventsource package, on demand, where there is no global one", async () => {
    vi.stubGlobal("EventSource", undefined);
    const choice = chooseEventSource(undefined, false);
    expect("load" in choice && (await choice.load())).toBe(EventSourcePackage);
    expect(supportsFetchOption(EventSourcePackage)).toBe(true);
  });

  it("takes the EventSource option, refusing one that cannot send the headers asked for", () => {
    const { EventSource: Native } = fakeEventSources();
    expect(chooseEventSource(EventSourcePackage, true)).toEqual({
      EventSource: EventSourcePackage,
      passFetch: true,
    });
    expect(() => chooseEventSource(Native, true)).toThrow(/headers option needs an EventSource/);
  });

  it("takes the browser's and the package's EventSource as the EventSource option", () => {
    expectTypeOf(globalThis.EventSource).toExtend<EventSourceConstructor>();
    expectTypeOf(EventSourcePackage).toExtend<EventSourceConstructor>();
  });

  it("reads the status and message of the package's error events", () => {
    const event = Object.assign(new Event("error"), {
      code: 502,
      message: "Non-200 status code (502)",
    });
    expect(errorEventDetails(event)).toEqual({ status: 502, message: "Non-200 status code (502)" });
    expect(errorEventDetails(new Event("error"))).toEqual({});
  });
});
