/**
 * The chat hooks the migrating app calls (`../shared/design/LEGACY_HOOKS.md`, "What the chat
 * hooks do"): follow every image (or video) artifact found in the chat's messages, and rewrite
 * an artifact as completed through `setMessages` when its file is done. All over the provider's
 * one stream, through one `useChannel` whose channel list follows the artifacts.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  type ArtifactKind,
  artifactKeys,
  channelOfKey,
  completeArtifact,
  completedMessage,
  completedUrl,
  keyOfChannel,
} from "./chat-artifacts.ts";
import { HeraldReactError } from "./errors.ts";
import { legacyView } from "./legacy-message.ts";
import { useChannel } from "./use-channel.ts";
import { useIsomorphicLayoutEffect } from "./use-isomorphic-layout-effect.ts";

export interface ChatSSEOptions<M> {
  /** The chat, passed back to `onMessageUpdated`. */
  chatId: string;
  /** The chat's messages (AI SDK `useChat`'s `messages`): scanned for artifacts at each render. */
  messages: readonly M[];
  /** AI SDK `useChat`'s `setMessages`, or any setter that takes an updater function. */
  setMessages: (updater: (messages: M[]) => M[]) => void;
  /** Default `true`; `false` holds no subscription. */
  enabled?: boolean;
  /**
   * Called once for each message whose artifact the hook rewrote as completed, after the rewrite
   * has reached `messages`: the place to save it (the app posted it to `/api/save-message`).
   * A throw or a rejected promise is reported with `console.error`, never swallowed.
   */
  onMessageUpdated?: (message: M, chatId: string) => void | Promise<void>;
}

export interface ChatSSEResult {
  /** Follows one more project (a project id, or for video `file.{fileId}`) until disconnected. */
  connectToProject: (projectId: string) => void;
  /** Stops following it; an artifact still in the messages is followed again once it comes back. */
  disconnectFromProject: (projectId: string) => void;
  /** What the hook follows now, sorted; `[]` while disabled. */
  connectedProjects: string[];
}

/** The WebSocket era's result: the SSE-era three, plus the names that hook returned. */
export interface ChatWebSocketResult extends ChatSSEResult {
  forceConnectToProject: (projectId: string) => void;
  /** One project, or every project where none is named. */
  cleanup: (projectId?: string) => void;
  isConnectedToProject: (projectId: string) => boolean;
  /** It follows at least one project. */
  isConnected: boolean;
}

/** Follows the project (`project.{projectId}`) of every image artifact in the messages. */
export function useChatImageSSE<M>(options: ChatSSEOptions<M>): ChatSSEResult {
  return useChatArtifacts("image", options);
}

/** Follows `project.{projectId}` and `file.{fileId}` of every video artifact in the messages. */
export function useChatVideoSSE<M>(options: ChatSSEOptions<M>): ChatSSEResult {
  return useChatArtifacts("video", options);
}

/** The WebSocket-era name of `useChatImageSSE`, with that hook's extra result fields. */
export function useChatImageWebSocket<M>(options: ChatSSEOptions<M>): ChatWebSocketResult {
  const result = useChatArtifacts("image", options);
  const { connectToProject, disconnectFromProject, connectedProjects } = result;
  const cleanup = useCallback(
    (projectId?: string) => {
      for (const id of projectId === undefined ? connectedProjects : [projectId]) {
        disconnectFromProject(id);
      }
    },
    [connectedProjects, disconnectFromProject],
  );
  return useMemo(
    () => ({
      ...result,
      forceConnectToProject: connectToProject,
      cleanup,
      isConnectedToProject: (projectId: string) => connectedProjects.includes(projectId),
      isConnected: connectedProjects.length > 0,
    }),
    [result, connectToProject, cleanup, connectedProjects],
  );
}

/** The same hook under the spelling of `useImageWebsocket`. */
export const useChatImageWebsocket = useChatImageWebSocket;

function useChatArtifacts<M>(kind: ArtifactKind, options: ChatSSEOptions<M>): ChatSSEResult {
  const { chatId, messages } = options;
  const enabled = options.enabled ?? true;

  // Read by the message handler and the save effect, so they always see the latest props.
  const latest = useRef(options);
  useIsomorphicLayoutEffect(() => {
    latest.current = options;
  });

  const foundKey = useMemo(() => artifactKeys(messages, kind).join("\n"), [messages, kind]);
  const found = useMemo(() => (foundKey === "" ? [] : foundKey.split("\n")), [foundKey]);

  // Added with connectToProject; found ones taken off with disconnectFromProject.
  const [added, setAdded] = useState<readonly string[]>([]);
  const [dismissed, setDismissed] = useState<readonly string[]>([]);
  // A dismissed artifact that leaves the messages is forgotten, so it is followed if it returns.
  const stillFound = dismissed.filter((key) => found.includes(key));
  if (stillFound.length !== dismissed.length) setDismissed(stillFound);

  const followed = useMemo(
    () => [...new Set([...found.filter((key) => !dismissed.includes(key)), ...added])].sort(),
    [found, dismissed, added],
  );

  // Files done whose rewrite has not reached `messages` yet: key → url.
  const unsaved = useRef(new Map<string, string>());

  useChannel(
    followed.map(channelOfKey),
    (message) => {
      const key = keyOfChannel(message.channel);
      if (key === undefined) return;
      const url = completedUrl(legacyView(message), kind);
      if (url === undefined) return;
      const completion = { url, requestId: message.requestId, timestamp: Date.now() };
      // Nothing to rewrite in what the page shows (a replay of a file already shown): no save.
      if (!completeArtifact(latest.current.messages, kind, key, completion)) return;
      unsaved.current.set(key, url);
      latest.current.setMessages(
        (current) => completeArtifact(current, kind, key, completion) ?? current,
      );
    },
    { enabled: enabled && followed.length > 0 },
  );

  useEffect(() => {
    for (const [key, url] of unsaved.current) {
      const message = completedMessage(messages, kind, key, url);
      if (message === undefined) continue;
      unsaved.current.delete(key);
      save(latest.current.onMessageUpdated, message, chatId);
    }
  }, [messages, kind, chatId]);

  const connectToProject = useCallback((projectId: string) => {
    if (!projectId) return;
    setDismissed((keys) => keys.filter((key) => key !== projectId));
    setAdded((keys) => (keys.includes(projectId) ? keys : [...keys, projectId]));
  }, []);

  const disconnectFromProject = useCallback(
    (projectId: string) => {
      unsaved.current.delete(projectId);
      setAdded((keys) => keys.filter((key) => key !== projectId));
      if (found.includes(projectId)) {
        setDismissed((keys) => (keys.includes(projectId) ? keys : [...keys, projectId]));
      }
    },
    [found],
  );

  const connectedProjects = useMemo(() => (enabled ? followed : []), [enabled, followed]);
  return useMemo(
    () => ({ connectToProject, disconnectFromProject, connectedProjects }),
    [connectToProject, disconnectFromProject, connectedProjects],
  );
}

function save<M>(
  onMessageUpdated: ChatSSEOptions<M>["onMessageUpdated"],
  message: M,
  chatId: string,
): void {
  if (!onMessageUpdated) return;
  const report = (error: unknown) =>
    console.error(
      new HeraldReactError(
        "callback_failed",
        `onMessageUpdated failed for chat ${chatId}: ${error instanceof Error ? error.message : String(error)}; the message stays updated on the page, save it again from there`,
        { cause: error },
      ),
    );
  try {
    const done = onMessageUpdated(message, chatId);
    if (done instanceof Promise) done.catch(report);
  } catch (error) {
    report(error);
  }
}
