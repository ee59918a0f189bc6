/**
 * The single-channel hooks the migrating app calls (`../shared/design/LEGACY_HOOKS.md`, both
 * eras), with its options and results, over the provider's one stream. Each picks its channel
 * and the ids its handlers see in messages that lack them (the app's store added them).
 */
import type {
  ArtifactEventHandler,
  ImageEventHandler,
  VideoEventHandler,
} from "./legacy-message.ts";
import {
  type EventHandlers,
  type SSEHookResult,
  useChannelHandlers,
} from "./use-channel-handlers.ts";

/** An id as pages hold it before one is chosen: none subscribes nothing. */
type MaybeId = string | number | null | undefined;

export interface ImageSSEOptions {
  /** The image's file: follows `file.{fileId}`. */
  fileId: MaybeId;
  /** An array of handlers, each getting every message (or Herald's map by type). */
  eventHandlers: readonly ImageEventHandler[] | EventHandlers;
  /** Default `true`. */
  enabled?: boolean;
}

export interface VideoSSEOptions {
  /** As in the app, the video's **file** id: follows `file.{projectId}`. */
  projectId: MaybeId;
  eventHandlers: readonly VideoEventHandler[] | EventHandlers;
  /** Default `true`. */
  enabled?: boolean;
  /** Filled into messages that carry no `requestId` (nothing is filtered by it). */
  requestId?: string | null | undefined;
}

export interface ArtifactSSEOptions {
  /** Any channel, for example `file.{id}` or `project.{id}`; `""` subscribes nothing. */
  channel: string | null | undefined;
  eventHandlers: readonly ArtifactEventHandler[] | EventHandlers;
  /** Default `true`. */
  enabled?: boolean;
}

export interface ImageWebsocketOptions {
  /** The project: follows `project.{projectId}`, as the WebSocket-era hook did. */
  projectId: MaybeId;
  eventHandlers: readonly ImageEventHandler[] | EventHandlers;
  /** Default `true`. */
  enabled?: boolean;
}

/** SSE era: one image file's events (`file.{fileId}`). */
export function useImageSSE({ fileId, eventHandlers, enabled }: ImageSSEOptions): SSEHookResult {
  const id = idOf(fileId);
  return useChannelHandlers({
    channel: id && `file.${id}`,
    eventHandlers,
    enabled,
    context: { projectId: id },
  });
}

/** SSE era: one video file's events (`file.{projectId}`; the app named the file id so). */
export function useVideoSSE({
  projectId,
  eventHandlers,
  enabled,
  requestId,
}: VideoSSEOptions): SSEHookResult {
  const id = idOf(projectId);
  return useChannelHandlers({
    channel: id && `file.${id}`,
    eventHandlers,
    enabled,
    context: { projectId: id, requestId: requestId || undefined },
  });
}

/**
 * SSE era: any one channel. Messages on a `project.{id}` channel that carry no `projectId` get
 * that id; on other channels nothing is filled but the mirrors.
 */
export function useArtifactSSE({
  channel,
  eventHandlers,
  enabled,
}: ArtifactSSEOptions): SSEHookResult {
  const projectId = channel?.startsWith("project.") ? channel.slice("project.".length) : undefined;
  return useChannelHandlers({ channel, eventHandlers, enabled, context: { projectId } });
}

/** WebSocket era: one project's events (`project.{projectId}`). */
export function useImageWebsocket({
  projectId,
  eventHandlers,
  enabled,
}: ImageWebsocketOptions): SSEHookResult {
  const id = idOf(projectId);
  return useChannelHandlers({
    channel: id && `project.${id}`,
    eventHandlers,
    enabled,
    context: { projectId: id },
  });
}

function idOf(id: MaybeId): string | undefined {
  return id === null || id === undefined || id === "" ? undefined : String(id);
}
