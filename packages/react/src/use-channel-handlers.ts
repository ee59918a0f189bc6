/**
 * The shape the WebSocket-era hooks had, over one channel: a map of handlers keyed by message
 * type, and `{ isConnected, connectionAttempts, maxAttempts, disconnect }` back. The four named
 * hooks (`legacy-hooks.ts`) are this hook with their channel chosen for them.
 */
import type { Message, TypedMessage } from "@herald/protocol";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useHeraldContext } from "./herald-provider.tsx";
import { useChannel } from "./use-channel.ts";

type MessageOf<T extends TypedMessage["type"]> = Extract<TypedMessage, { type: T }>;

/**
 * A handler of any message. Written as a method's type (React's own types do the same) so that
 * its parameter is compared both ways: a page's `(message: MyTaskEvent) => void` still fits.
 */
export type MessageTypeHandler = { handle(message: Message): void }["handle"];

/**
 * Handlers by message type, plus `onMessage` for every message. They are declared as methods
 * so that a page's handlers keep their own parameter types when they move over (TypeScript
 * compares method parameters both ways), and a handler of a type not listed here goes in under
 * its type's name.
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
}

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
  /** The channel, for example `project.p1`; `null`/`undefined` subscribes nothing. */
  channel: string | null | undefined;
  eventHandlers: EventHandlers;
  /** Default `true`. */
  enabled?: boolean;
  /**
   * Where given, a message whose `requestId` is another non-empty string is not delivered;
   * messages with this `requestId`, and messages without one, are.
   */
  requestId?: string | null | undefined;
}

export function useChannelHandlers(options: UseChannelHandlersOptions): SSEHookResult {
  const { channel, eventHandlers, requestId } = options;
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

  const active = enabled && Boolean(channel) && disconnectedFrom === null;
  const state = useChannel(
    channel ?? [],
    (message) => {
      if (message.channel === disconnectedRef.current) return;
      if (isForAnotherRequest(message, requestId)) return;
      deliver(eventHandlers, message);
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

function isForAnotherRequest(message: Message, requestId: string | null | undefined): boolean {
  if (!requestId) return false;
  const theirs = message.requestId;
  return typeof theirs === "string" && theirs !== "" && theirs !== requestId;
}

/**
 * The handler of the message's type, then `onMessage`. A handler that throws does not keep the
 * message from `onMessage`; the error goes on to the client, which reports it
 * (`handler_failed`) and carries on with the stream.
 */
function deliver(handlers: EventHandlers, message: Message): void {
  const errors: unknown[] = [];
  const handler = handlerOf(handlers, message.type);
  if (handler) {
    try {
      handler.call(handlers, message);
    } catch (error) {
      errors.push(error);
    }
  }
  try {
    handlers.onMessage?.(message);
  } catch (error) {
    errors.push(error);
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    throw new AggregateError(errors, `handlers of a "${message.type}" message threw`);
  }
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
