"use client";

export type {
  ConnectionState,
  EventsClient,
  EventsClientOptions,
  Message,
  MessageHandler,
  MessageMeta,
  TypedMessage,
} from "@herald/client";
export type { ReactErrorCode } from "./errors.ts";
export { HeraldReactError } from "./errors.ts";
export type { HeraldProviderProps } from "./herald-provider.tsx";
export { HeraldProvider, useEventsClient } from "./herald-provider.tsx";
export type { SSEHookOptions, VideoSSEOptions } from "./legacy-hooks.ts";
export { useArtifactSSE, useChatImageSSE, useImageSSE, useVideoSSE } from "./legacy-hooks.ts";
export type { UseChannelOptions } from "./use-channel.ts";
export { useChannel } from "./use-channel.ts";
export type {
  EventHandlers,
  MessageTypeHandler,
  SSEHookResult,
  UseChannelHandlersOptions,
} from "./use-channel-handlers.ts";
export { useChannelHandlers } from "./use-channel-handlers.ts";
export { useConnectionState } from "./use-connection-state.ts";
