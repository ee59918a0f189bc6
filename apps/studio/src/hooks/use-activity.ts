/**
 * The activity panel's logic: the user's tasks across tools and tabs, from `user.{id}` (which
 * carries every task event of the user: docs/API.md, "Events of a generation"). The panel
 * starts from the latest files over REST, since the channel only tells what happens from now.
 */
import type { Message } from "@herald/client";
import { useChannel } from "@herald/react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ApiError, api } from "../api.ts";
import type { FileRecord, MediaKind, TaskStatus } from "../api-types.ts";
import { messageOf } from "../format.ts";
import { laterStatus, readStatus } from "../generation-state.ts";
import { useSession } from "./use-session.tsx";

export interface ActivityItem {
  taskId: string;
  fileId: string;
  kind: MediaKind;
  status: TaskStatus;
  /** Undefined until the file has been read; null once it is known to be deleted. */
  prompt: string | null | undefined;
  /** When it last changed, ms since the epoch. */
  at: number;
  error?: string;
}

export interface Activity {
  items: ActivityItem[];
  error: string | undefined;
}

const SHOWN = 12;

export function useActivity(): Activity {
  const { userId } = useSession();
  const [byTask, setByTask] = useState<Record<string, ActivityItem>>({});
  const [error, setError] = useState<string>();
  const asked = useRef(new Set<string>());

  const upsert = useCallback((item: ActivityItem) => {
    setByTask((current) => {
      const previous = current[item.taskId];
      const next: ActivityItem = previous
        ? {
            ...previous,
            status: laterStatus(previous.status, item.status),
            prompt: item.prompt === undefined ? previous.prompt : item.prompt,
            at: Math.max(previous.at, item.at),
            error: item.error ?? previous.error,
          }
        : item;
      return { ...current, [item.taskId]: next };
    });
  }, []);

  useEffect(() => {
    if (!userId) return;
    let live = true;
    api.files({ limit: SHOWN }).then(
      (page) => {
        if (!live) return;
        for (const file of page.items) upsert(fromFile(file));
      },
      (reason: unknown) => {
        if (live) setError(`Could not load recent activity: ${messageOf(reason)}`);
      },
    );
    return () => {
      live = false;
    };
  }, [userId, upsert]);

  const readPrompt = useCallback(
    (taskId: string, fileId: string) => {
      if (asked.current.has(fileId)) return;
      asked.current.add(fileId);
      api.file(fileId).then(
        (file) => upsert({ ...fromFile(file), taskId, at: 0 }),
        (reason: unknown) => {
          if (reason instanceof ApiError && reason.status === 404)
            setByTask((current) => {
              const item = current[taskId];
              return item ? { ...current, [taskId]: { ...item, prompt: null } } : current;
            });
          else setError(`Could not read a task's file: ${messageOf(reason)}`);
        },
      );
    },
    [upsert],
  );

  const onMessage = useCallback(
    (message: Message) => {
      const task = message.object ?? {};
      const status = readStatus(task.status);
      const { id, fileId, kind } = task;
      if (message.type !== "task" || !status || typeof id !== "string") return;
      if (typeof fileId !== "string" || (kind !== "image" && kind !== "video")) return;
      upsert({
        taskId: id,
        fileId,
        kind,
        status,
        prompt: undefined,
        at: message.ts,
        error: typeof task.error === "string" ? task.error : undefined,
      });
      readPrompt(id, fileId);
    },
    [upsert, readPrompt],
  );
  useChannel(userId ? `user.${userId}` : [], onMessage, {
    types: ["task"],
    enabled: Boolean(userId),
  });

  const items = useMemo(
    () =>
      Object.values(byTask)
        .sort((a, b) => b.at - a.at)
        .slice(0, SHOWN),
    [byTask],
  );
  return { items, error };
}

function fromFile(file: FileRecord): ActivityItem {
  return {
    taskId: file.taskId,
    fileId: file.id,
    kind: file.type,
    status: file.status,
    prompt: file.prompt,
    at: Date.parse(file.updatedAt) || 0,
    error: file.error,
  };
}
