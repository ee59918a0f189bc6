/**
 * The `eventsource` package, where a client needs it (Node and other servers, or `headers`),
 * loaded on the first stream that needs it: nothing loads it where the platform's own
 * EventSource does. Browsers get `eventsource-package.browser.ts` instead (the "browser"
 * condition of `#eventsource-package` in package.json), so no bundler puts it in a page.
 */
import type { EventSourceConstructor } from "./event-source.ts";

export const loadEventSourcePackage: (() => Promise<EventSourceConstructor>) | undefined =
  async () => (await import("eventsource")).EventSource;
