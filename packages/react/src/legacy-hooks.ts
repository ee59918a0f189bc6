/**
 * The hooks the generator pages used over WebSocket, with the same options and result, now over
 * the provider's one SSE stream. `projectId` keeps the meaning it had for each hook, which picks
 * the channel (see the README's migration table).
 */
import {
  type EventHandlers,
  type SSEHookResult,
  useChannelHandlers,
} from "./use-channel-handlers.ts";

export interface SSEHookOptions {
  /** The id the page subscribed with; none (nothing chosen yet) subscribes nothing. */
  projectId?: string | number | null | undefined;
  eventHandlers: EventHandlers;
  /** Default `true`. */
  enabled?: boolean;
}

export interface VideoSSEOptions extends SSEHookOptions {
  /** Only this request's messages, and those that carry no `requestId`. */
  requestId?: string | null | undefined;
}

/** The events of one project (`project.{projectId}`), for the Image Generator. */
export function useImageSSE({ projectId, eventHandlers, enabled }: SSEHookOptions): SSEHookResult {
  return useChannelHandlers({ channel: channelOf("project", projectId), eventHandlers, enabled });
}

/**
 * The events of one video file (`file.{projectId}`): as over WebSocket, `projectId` is the id of
 * the video's file.
 */
export function useVideoSSE({
  projectId,
  eventHandlers,
  enabled,
  requestId,
}: VideoSSEOptions): SSEHookResult {
  return useChannelHandlers({
    channel: channelOf("file", projectId),
    eventHandlers,
    enabled,
    requestId,
  });
}

/** The artifacts of one project (`project.{projectId}`): files, entities, scenes, data. */
export function useArtifactSSE({
  projectId,
  eventHandlers,
  enabled,
}: SSEHookOptions): SSEHookResult {
  return useChannelHandlers({ channel: channelOf("project", projectId), eventHandlers, enabled });
}

/**
 * The images generated from a chat (`project.{projectId}`): over WebSocket, messages were routed
 * by their `projectId`, the project the chat's generations run in.
 */
export function useChatImageSSE({
  projectId,
  eventHandlers,
  enabled,
}: SSEHookOptions): SSEHookResult {
  return useChannelHandlers({ channel: channelOf("project", projectId), eventHandlers, enabled });
}

function channelOf(
  kind: "project" | "file",
  id: string | number | null | undefined,
): string | undefined {
  return id === null || id === undefined || id === "" ? undefined : `${kind}.${id}`;
}
