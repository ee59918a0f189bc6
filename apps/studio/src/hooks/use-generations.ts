/**
 * The part both generator pages share: the user's files of one kind, each drawn from the REST
 * API and kept live by its `file.{id}` channel while it renders.
 *
 * How a render is followed without ever missing its end (PROTOCOL.md section 3, "A stream
 * opened with no id starts live"): the page subscribes to the file's channel, and reads the
 * file over REST once when it starts following it and again every time the stream (re)opens.
 * The two sources are merged by `generationsReducer`, which never moves backwards, so the
 * order in which they arrive does not matter. A page that reloads mid-render finds the file in
 * the listing with its stored `progress`, draws the bar from there, and goes on live.
 */
import { useChannel, useEventsClient } from "@herald/react";
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import { ApiError, absoluteFileUrl, api } from "../api.ts";
import type { FileRecord, GenerationStarted, MediaKind } from "../api-types.ts";
import { MAX_FOLLOWED_FILES } from "../config.ts";
import { messageOf, parseResolution } from "../format.ts";
import {
  type ChannelMessage,
  emptyGenerations,
  fileIdOf,
  type Generation,
  generationsReducer,
  isFinal,
  newestFirst,
  readStatus,
} from "../generation-state.ts";
import { useSession } from "./use-session.tsx";

const PAGE_SIZE = 24;
const FILE_EVENTS = ["task", "render_progress", "render_result", "file"] as const;
const USER_EVENTS = ["task"] as const;

export interface Notice {
  kind: "info" | "error";
  text: string;
}

export interface Generations {
  /** Newest first: running ones, then results, as the gallery shows them. */
  items: Generation[];
  /** The first page is still loading. */
  loading: boolean;
  hasMore: boolean;
  loadingMore: boolean;
  loadMore(): void;
  /** Starts following a generation the server has just accepted. */
  track(
    started: GenerationStarted,
    request: { prompt: string; settings: Generation["settings"] },
  ): void;
  cancel(id: string): Promise<void>;
  remove(id: string): Promise<void>;
  copyLink(id: string): Promise<void>;
  /** The last thing worth telling a person (a copied link, a failed delete). */
  notice: Notice | undefined;
  dismissNotice(): void;
}

export function useGenerations(kind: MediaKind): Generations {
  const { userId } = useSession();
  const client = useEventsClient();
  const [state, dispatch] = useReducer(generationsReducer, emptyGenerations);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [nextCursor, setNextCursor] = useState<string>();
  const [notice, setNotice] = useState<Notice>();
  const items = useMemo(() => newestFirst(state), [state]);

  const tell = useCallback((text: string, noticeKind: Notice["kind"] = "error") => {
    setNotice({ kind: noticeKind, text });
  }, []);

  // Reads one file over REST into the state; a file that is gone leaves the page.
  const refresh = useCallback(
    (id: string) => {
      api.file(id).then(
        (record) => dispatch({ type: "records", records: [record] }),
        (error: unknown) => {
          if (error instanceof ApiError && error.status === 404) dispatch({ type: "removed", id });
          else tell(`Could not refresh a ${kind}: ${messageOf(error)}`);
        },
      );
    },
    [kind, tell],
  );

  // The first page of the gallery, once there is a session.
  useEffect(() => {
    if (!userId) return;
    let live = true;
    setLoading(true);
    api.files({ type: kind, limit: PAGE_SIZE }).then(
      (page) => {
        if (!live) return;
        dispatch({ type: "records", records: page.items });
        setNextCursor(page.nextCursor);
        setLoading(false);
      },
      (error: unknown) => {
        if (!live) return;
        setLoading(false);
        tell(`Could not load your ${kind}s: ${messageOf(error)}`);
      },
    );
    return () => {
      live = false;
    };
  }, [userId, kind, tell]);

  const loadMore = useCallback(() => {
    if (!nextCursor || loadingMore) return;
    setLoadingMore(true);
    api.files({ type: kind, limit: PAGE_SIZE, cursor: nextCursor }).then(
      (page) => {
        dispatch({ type: "records", records: page.items });
        setNextCursor(page.nextCursor);
        setLoadingMore(false);
      },
      (error: unknown) => {
        setLoadingMore(false);
        tell(`Could not load more ${kind}s: ${messageOf(error)}`);
      },
    );
  }, [kind, nextCursor, loadingMore, tell]);

  // The running files, oldest first: those are rendering; the newest wait in the queue.
  const followed = useMemo(
    () =>
      items
        .filter((item) => !isFinal(item.status))
        .reverse()
        .slice(0, MAX_FOLLOWED_FILES)
        .map((item) => item.id),
    [items],
  );
  const followedRef = useRef(followed);
  followedRef.current = followed;

  const onFileMessage = useCallback(
    (message: ChannelMessage & { channel: string }) => {
      if (message.type === "stream_reset") {
        // History was lost (a server restart, say): the file's state is read again.
        refresh(message.channel.slice("file.".length));
        return;
      }
      dispatch({ type: "message", message });
    },
    [refresh],
  );
  useChannel(
    followed.map((id) => `file.${id}`),
    onFileMessage,
    // Its past too: a page opened mid-render draws the bar from the channel at once; the
    // reducer keeps whichever of the channel and the REST read is further along.
    { types: FILE_EVENTS, enabled: followed.length > 0, from: "start" },
  );

  // Every file newly followed is read once after its subscription, whatever it missed before.
  const readOnce = useRef(new Set<string>());
  useEffect(() => {
    for (const id of followed) {
      if (readOnce.current.has(id)) continue;
      readOnce.current.add(id);
      refresh(id);
    }
  }, [followed, refresh]);

  // Each time the stream (re)opens, a channel just added or a break just healed may have left
  // a gap before the live events: the files being followed are read again.
  useEffect(() => {
    let previous = client.connection.getSnapshot().status;
    return client.connection.subscribe((connection) => {
      const reopened = connection.status === "open" && previous !== "open";
      // A 403 closes the whole stream: a followed file was deleted elsewhere. Reading the
      // files drops it from the page, and the change of channels makes the client try again.
      const refused = connection.status === "closed" && connection.lastError?.status === 403;
      previous = connection.status;
      if (reopened || refused) for (const id of followedRef.current) refresh(id);
    });
  }, [client, refresh]);

  // The user's channel tells of tasks started elsewhere (another tab), so they show up here too.
  const known = useRef(state);
  known.current = state;
  const onUserMessage = useCallback(
    (message: ChannelMessage) => {
      const object = message.object ?? {};
      if (message.type !== "task" || object.kind !== kind) return;
      const id = fileIdOf(message);
      if (!id || known.current.deleted.has(id)) return;
      if (known.current.byId[id]) dispatch({ type: "message", message });
      else if (readStatus(object.status)) refresh(id);
    },
    [kind, refresh],
  );
  useChannel(userId ? `user.${userId}` : [], onUserMessage, {
    types: USER_EVENTS,
    enabled: Boolean(userId),
  });

  const track = useCallback<Generations["track"]>(
    (started, request) => {
      const now = new Date().toISOString();
      const { width, height } = parseResolution(request.settings.resolution);
      // Drawn at once, from what was asked; the read that follows fills in the server's view.
      const placeholder: FileRecord = {
        id: started.fileId,
        type: kind,
        status: "pending",
        progress: 0,
        width,
        height,
        prompt: request.prompt,
        settings: request.settings,
        projectId: started.projectId,
        taskId: started.taskId,
        createdAt: now,
        updatedAt: now,
      };
      dispatch({ type: "records", records: [placeholder] });
    },
    [kind],
  );

  const byId = state.byId;
  const cancel = useCallback(
    async (id: string) => {
      const item = byId[id];
      if (!item) return;
      try {
        await api.cancelTask(item.taskId);
      } catch (error) {
        // 409: it ended meanwhile; the read below shows how.
        if (!(error instanceof ApiError && error.status === 409))
          tell(`Could not cancel: ${messageOf(error)}`);
      }
      refresh(id);
    },
    [byId, refresh, tell],
  );

  const remove = useCallback(
    async (id: string) => {
      try {
        await api.deleteFile(id);
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) {
          tell(`Could not delete: ${messageOf(error)}`);
          return;
        }
      }
      dispatch({ type: "removed", id });
      tell(`The ${kind} was deleted.`, "info");
    },
    [kind, tell],
  );

  const copyLink = useCallback(
    async (id: string) => {
      const url = byId[id]?.url;
      if (!url) return;
      const link = absoluteFileUrl(url);
      try {
        await navigator.clipboard.writeText(link);
        tell("Link copied.", "info");
      } catch (error) {
        tell(`Could not copy the link (${messageOf(error)}); it is ${link}`);
      }
    },
    [byId, tell],
  );

  const dismissNotice = useCallback(() => setNotice(undefined), []);

  return {
    items,
    loading,
    hasMore: nextCursor !== undefined,
    loadingMore,
    loadMore,
    track,
    cancel,
    remove,
    copyLink,
    notice,
    dismissNotice,
  };
}
