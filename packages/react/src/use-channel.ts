/**
 * `useChannel`: a component's subscription to one or more channels through the provider's
 * client. The subscription follows what the channels, types and `enabled` *contain*, never the
 * identity of the arrays or of the handler, so a page can pass literals and inline functions.
 */
import type { ConnectionState, MessageHandler } from "@herald/client";
import { useEffect, useRef } from "react";
import { useHeraldContext } from "./herald-provider.tsx";
import { useConnectionState } from "./use-connection-state.ts";
import { useIsomorphicLayoutEffect } from "./use-isomorphic-layout-effect.ts";

export interface UseChannelOptions {
  /** Only messages of these types (`stream_reset` always comes through). Default: every type. */
  types?: readonly string[];
  /** `false` holds no subscription. Default `true`. */
  enabled?: boolean;
}

/**
 * Subscribes to `channels` and calls `onMessage(message, meta)` for each of their messages.
 * `onMessage` may be a new function at every render: the newest one is called, and nothing
 * re-subscribes. Returns the client's connection state.
 */
export function useChannel(
  channels: string | readonly string[],
  onMessage: MessageHandler,
  options: UseChannelOptions = {},
): ConnectionState {
  // `null` while rendering on a server, where effects do not run anyway.
  const { client } = useHeraldContext("useChannel");
  const handlerRef = useRef(onMessage);
  // Set after render, not during it: a render React throws away must not change the handler.
  useIsomorphicLayoutEffect(() => {
    handlerRef.current = onMessage;
  });

  const enabled = options.enabled ?? true;
  const channelsKey = listKey(typeof channels === "string" ? [channels] : channels);
  const typesKey = options.types ? listKey(options.types) : undefined;

  useEffect(() => {
    if (!enabled || !client) return;
    const subscribeOptions = typesKey === undefined ? undefined : { types: fromKey(typesKey) };
    const deliver: MessageHandler = (message, meta) => handlerRef.current(message, meta);
    const unsubscribes: (() => void)[] = [];
    try {
      for (const channel of fromKey(channelsKey)) {
        unsubscribes.push(client.subscribe(channel, deliver, subscribeOptions));
      }
    } catch (error) {
      // An invalid channel among valid ones: release the ones taken, then let React report it.
      for (const unsubscribe of unsubscribes) unsubscribe();
      throw error;
    }
    return () => {
      for (const unsubscribe of unsubscribes) unsubscribe();
    };
  }, [client, channelsKey, typesKey, enabled]);

  return useConnectionState();
}

/**
 * A string that is equal for lists with the same members: order and repeats do not matter, so
 * `["b", "a", "a"]` subscribes `a` and `b` once each, like `["a", "b"]`.
 */
function listKey(list: readonly string[]): string {
  return JSON.stringify([...new Set(list)].sort());
}

function fromKey(key: string): string[] {
  const list: unknown = JSON.parse(key);
  return Array.isArray(list) ? list.filter((item): item is string => typeof item === "string") : [];
}
