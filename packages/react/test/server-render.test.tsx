/**
 * Server rendering, as Next.js does it for client components: plain Node (no DOM), the provider
 * given no options at all. Nothing may throw, nothing may connect, and what renders is what a
 * fresh client would show, so the browser's hydration matches.
 */
import { renderToString } from "react-dom/server";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  HeraldProvider,
  HeraldReactError,
  useChannel,
  useConnectionState,
  useEventsClient,
  useImageSSE,
} from "../src/index.ts";

let constructed = 0;
let fetched = 0;
const saved = { EventSource: globalThis.EventSource, fetch: globalThis.fetch };

beforeEach(() => {
  constructed = 0;
  fetched = 0;
  // Anything that tried to connect would come through one of these.
  globalThis.EventSource = class {
    constructor() {
      constructed += 1;
    }
  } as unknown as typeof EventSource;
  globalThis.fetch = (() => {
    fetched += 1;
    return Promise.reject(new Error("no fetch during server rendering"));
  }) as typeof fetch;
});

afterEach(() => {
  globalThis.EventSource = saved.EventSource;
  globalThis.fetch = saved.fetch;
});

function Progress() {
  const state = useChannel(["project.p1", "file.f1"], () => {});
  const again = useConnectionState();
  const legacy = useImageSSE({ fileId: "f1", eventHandlers: [() => {}] });
  return (
    <p>
      {state.status}/{again.status}/{String(legacy.isConnected)}
    </p>
  );
}

function Attempts() {
  const { connectionAttempts, maxAttempts } = useImageSSE({ fileId: "f1", eventHandlers: [] });
  return (
    <p>
      attempt {connectionAttempts} of {maxAttempts}
    </p>
  );
}

function ReadsClient() {
  useEventsClient();
  return null;
}

describe("server rendering", () => {
  it("is plain Node here: no DOM", () => {
    expect(typeof document).toBe("undefined");
    expect(typeof window).toBe("undefined");
  });

  it("renders the provider with no options, and its hooks as a fresh client shows them", () => {
    const html = renderToString(
      <HeraldProvider>
        <Progress />
      </HeraldProvider>,
    );
    expect(html).toBe("<p>idle<!-- -->/<!-- -->idle<!-- -->/<!-- -->false</p>");
    expect(constructed).toBe(0);
    expect(fetched).toBe(0);
  });

  it("renders with options meant for the browser, and still makes nothing", () => {
    const html = renderToString(
      <HeraldProvider options={{ path: "/api/v1/events", withCredentials: true }}>
        <Progress />
      </HeraldProvider>,
    );
    expect(html).toContain("idle");
    expect(constructed).toBe(0);
    expect(fetched).toBe(0);
  });

  it("renders the maxAttempts of the provider's options, as the browser will (no hydration mismatch)", () => {
    const html = renderToString(
      <HeraldProvider options={{ backoff: { maxAttempts: 10 } }}>
        <Attempts />
      </HeraldProvider>,
    );
    expect(html).toBe("<p>attempt <!-- -->0<!-- --> of <!-- -->10</p>");
  });

  it("says why useEventsClient() has no client on the server", () => {
    let thrown: unknown;
    try {
      renderToString(
        <HeraldProvider>
          <ReadsClient />
        </HeraldProvider>,
      );
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(HeraldReactError);
    expect(thrown).toMatchObject({ code: "no_client_on_server" });
  });
});
