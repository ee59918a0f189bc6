/**
 * One hook over one channel with the WebSocket-era shape: `eventHandlers` (an array of
 * functions, or a map by message type) in, `{ isConnected, connectionAttempts, maxAttempts,
 * disconnect }` out. The named hooks of `legacy-hooks.ts` are this hook with their channel and
 * context chosen for them.
 */
import type { Message, TypedMessage } from "@herald/protocol";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useHeraldContext } from "./herald-provider.tsx";
import { type LegacyContext, type LegacyMessage, legacyView } from "./legacy-message.ts";
import { useChannel } from "./use-channel.ts";

type MessageOf<T extends TypedMessage["type"]> = Extract<TypedMessage, { type: T }>;

/**
 * A handler of any message. Written as a method's type (React's own types do the same) so that
 * its parameter is compared both ways: a page's `(message: MyTaskEvent) => void` still fits.
 */
export type MessageTypeHandler = { handle(message: Message): void }["handle"];

/**
 * The map form (Herald's extension): handlers by message type, plus `onMessage` for every
 * message. They are declared as methods so that a page's handlers keep their own parameter
 * types (TypeScript compares method parameters both ways), and a handler of a type not listed
 * here goes in under its type's name. Each gets the legacy view of the message, like the
 * array form.
 */
export interface EventHandlers {
  task?(message: MessageOf<"task">): void;
  render_progress?(message: MessageOf<"render_progress">): void;
  render_result?(message: MessageOf<"render_result">): void;
  file?(message: MessageOf<"file">): void;
  data?(message: Message): void;
  entity?(message: Message): void;
  scene?(message: Message): void;
  /** Messages of type `error` (a failed generation); connection errors are in `useConnectionState()`. */
  error?(message: Message): void;
  /** History was lost (PROTOCOL.md section 3): re-read state over the REST API. */
  stream_reset?(message: MessageOf<"stream_reset">): void;
  /** Every message, known type or not, after the handler of its type. */
  onMessage?(message: Message): void;
  [type: string]: MessageTypeHandler | undefined;
  /**
   * No numeric keys: without this, an array literal of handlers (`[(message) => …]`) would be
   * typed against this map's string index as well, and its parameter would lose its type.
   */
  [index: number]: never;
}

/**
 * `eventHandlers` as the app passes it, an array of functions that each get every message of the
 * channel (an empty array subscribes nothing, as it did in the app), or Herald's map form.
 */
export type LegacyEventHandlers = readonly ((message: LegacyMessage) => void)[] | EventHandlers;

export interface SSEHookResult {
  /** The hook holds its subscription and the stream is open. */
  isConnected: boolean;
  /** Failed attempts in a row of the client's stream while the hook subscribes; 0 otherwise. */
  connectionAttempts: number;
  /** Failures in a row after which the client gives up (`Infinity`: it never does). */
  maxAttempts: number;
  /**
   * Ends this hook's subscription, not the client nor the other hooks'. It stays ended until
   * the channel changes or `enabled` goes false and back to true.
   */
  disconnect: () => void;
}

export interface UseChannelHandlersOptions {
  /** The channel, for example `project.p1`; `null`, `undefined` or `""` subscribes nothing. */
  channel: string | null | undefined;
  eventHandlers: LegacyEventHandlers;
  /** Default `true`. */
  enabled?: boolean;
  /** The ids filled into messages that lack them (see `legacyView`). */
  context?: LegacyContext;
}

export function useChannelHandlers(options: UseChannelHandlersOptions): SSEHookResult {
  const { channel, eventHandlers } = options;
  const projectId = options.context?.projectId;
  const requestId = options.context?.requestId;
  const enabled = options.enabled ?? true;
  const { maxAttempts } = useHeraldContext("useChannelHandlers");

  // The channel `disconnect()` ended; a change of channel or a disable forgets it.
  const [disconnectedFrom, setDisconnectedFrom] = useState<string | null>(null);
  if (disconnectedFrom !== null && (disconnectedFrom !== channel || !enabled)) {
    setDisconnectedFrom(null);
  }
  // Also read by the handler: messages already on their way stop at once, not at the next commit.
  const disconnectedRef = useRef<string | null>(null);
  useEffect(() => {
    disconnectedRef.current = disconnectedFrom;
  }, [disconnectedFrom]);

  // The app's hooks held no subscription for an empty array; a map always subscribes.
  const hasHandlers = !Array.isArray(eventHandlers) || eventHandlers.length > 0;
  const active = enabled && Boolean(channel) && hasHandlers && disconnectedFrom === null;
  const state = useChannel(
    channel ?? [],
    (message) => {
      if (message.channel === disconnectedRef.current) return;
      deliver(eventHandlers, legacyView(message, { projectId, requestId }));
    },
    { enabled: active },
  );

  const disconnect = useCallback(() => {
    if (!channel) return;
    disconnectedRef.current = channel;
    setDisconnectedFrom(channel);
  }, [channel]);

  const isConnected = active && state.status === "open";
  const connectionAttempts = active ? state.attempts : 0;
  return useMemo(
    () => ({ isConnected, connectionAttempts, maxAttempts, disconnect }),
    [isConnected, connectionAttempts, maxAttempts, disconnect],
  );
}

/**
 * Array form: every handler, in order. Map form: the handler of the message's type, then
 * `onMessage`. A handler that throws does not keep the message from the others; the error goes
 * on to the client, which reports it (`handler_failed`) and carries on with the stream.
 */
function deliver(handlers: LegacyEventHandlers, message: LegacyMessage): void {
  const errors: unknown[] = [];
  const attempt = (call: () => void) => {
    try {
      call();
    } catch (error) {
      errors.push(error);
    }
  };
  if (isHandlerList(handlers)) {
    for (const handler of handlers) attempt(() => handler(message));
  } else {
    // The view is a Message with mirrors added: what the map's handlers are typed with.
    const envelope = message as Message;
    const handler = handlerOf(handlers, message.type);
    if (handler) attempt(() => handler.call(handlers, envelope));
    if (handlers.onMessage) attempt(() => handlers.onMessage?.(envelope));
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    throw new AggregateError(errors, `handlers of a "${message.type}" message threw`);
  }
}

function isHandlerList(
  handlers: LegacyEventHandlers,
): handlers is readonly ((message: LegacyMessage) => void)[] {
  return Array.isArray(handlers);
}

/**
 * Only the map's own properties count: a message of type `toString` or `constructor` must not
 * call what a plain object inherits from Object.
 */
function handlerOf(handlers: EventHandlers, type: string): MessageTypeHandler | undefined {
  if (type === "onMessage" || !Object.hasOwn(handlers, type)) return undefined;
  const handler: unknown = handlers[type];
  return typeof handler === "function" ? (handler as MessageTypeHandler) : undefined;
}
