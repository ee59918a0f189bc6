/**
 * The browser build has no `eventsource` package (see `eventsource-package.ts`): a page uses the
 * browser's own EventSource, or the one it passes as the `EventSource` option.
 */
import type { EventSourceConstructor } from "./event-source.ts";

export const loadEventSourcePackage: (() => Promise<EventSourceConstructor>) | undefined =
  undefined;
