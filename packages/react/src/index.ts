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
export type { ArtifactKind, ChatMessageLike } from "./chat-artifacts.ts";
export type { ChatSSEOptions, ChatSSEResult, ChatWebSocketResult } from "./chat-hooks.ts";
export {
  useChatImageSSE,
  useChatImageWebSocket,
  useChatImageWebsocket,
  useChatVideoSSE,
} from "./chat-hooks.ts";
export type { ReactErrorCode } from "./errors.ts";
export { HeraldReactError } from "./errors.ts";
export type { HeraldProviderProps } from "./herald-provider.tsx";
export { HeraldProvider, useEventsClient } from "./herald-provider.tsx";
export type {
  ArtifactSSEOptions,
  ImageSSEOptions,
  ImageWebsocketOptions,
  VideoSSEOptions,
} from "./legacy-hooks.ts";
export { useArtifactSSE, useImageSSE, useImageWebsocket, useVideoSSE } from "./legacy-hooks.ts";
export type {
  ArtifactEventHandler,
  ArtifactSSEMessage,
  ImageEventHandler,
  ImageSSEMessage,
  LegacyContext,
  LegacyMessage,
  VideoEventHandler,
  VideoSSEMessage,
} from "./legacy-message.ts";
export { legacyView } from "./legacy-message.ts";
export type { UseChannelOptions } from "./use-channel.ts";
export { useChannel } from "./use-channel.ts";
export type {
  EventHandlers,
  LegacyEventHandlers,
  MessageTypeHandler,
  SSEHookResult,
  UseChannelHandlersOptions,
} from "./use-channel-handlers.ts";
export { useChannelHandlers } from "./use-channel-handlers.ts";
export { useConnectionState } from "./use-connection-state.ts";
