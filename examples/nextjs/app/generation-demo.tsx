"use client";

import { type ImageEventHandler, type Message, useChannel, useImageSSE } from "@herald/react";
import { type ReactNode, useEffect, useState } from "react";

interface Generation {
  projectId: string;
  taskId: string;
  fileId: string;
}

/** What a follower of one generation has seen of it. */
interface Followed {
  status: string;
  progress: number;
  url?: string;
  events: number;
}

const WAITING: Followed = { status: "waiting", progress: 0, events: 0 };

async function post<T>(path: string): Promise<T> {
  const response = await fetch(path, { method: "POST" });
  const body = await response.json();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${body?.error?.message ?? ""}`);
  return body as T;
}

// One sign-in per page load, however often React runs the effect (StrictMode runs it twice).
let signingIn: Promise<{ projectId: string }> | undefined;
function signIn(): Promise<{ projectId: string }> {
  signingIn ??= post<{ projectId: string }>("/api/token").catch((error: unknown) => {
    signingIn = undefined;
    throw error;
  });
  return signingIn;
}

/** A generation as Herald's own hook sees it: the fields of the message's `object`. */
function follow(seen: Followed, message: Message): Followed {
  const object = message.object ?? {};
  const next = { ...seen, events: seen.events + 1 };
  if (message.type === "task") next.status = String(object.status);
  if (message.type === "render_progress") next.progress = Number(object.progress);
  if (message.type === "render_result") next.url = String(object.url);
  return next;
}

export function GenerationDemo() {
  const [projectId, setProjectId] = useState<string>();
  const [generation, setGeneration] = useState<Generation>();
  const [problem, setProblem] = useState<string>();

  useEffect(() => {
    signIn().then(
      (visitor) => setProjectId(visitor.projectId),
      (error: unknown) => setProblem(String(error)),
    );
  }, []);

  // Herald's hook: every event of the visitor's project, kept by task, since a task's first
  // events may arrive before the answer that names it.
  const [tasks, setTasks] = useState<Record<string, Followed>>({});
  const connection = useChannel(
    `project.${projectId}`,
    (message) => {
      const taskId = message.type === "task" ? message.object?.id : message.object?.taskId;
      if (typeof taskId !== "string") return;
      setTasks((all) => ({ ...all, [taskId]: follow(all[taskId] ?? WAITING, message) }));
    },
    { enabled: projectId !== undefined },
  );

  // The WebSocket-era hook, called as the app it replaces called it: the file's channel, an
  // array of handlers that each get every message, and the legacy mirrors (`progress`, `status`).
  const [legacy, setLegacy] = useState<Followed>(WAITING);
  const handler: ImageEventHandler = (message) => {
    setLegacy((seen) => {
      const next = { ...seen, events: seen.events + 1 };
      if (message.type === "task" && message.status) next.status = message.status;
      if (message.type === "render_progress") next.progress = message.progress ?? seen.progress;
      if (message.type === "render_result") next.url = message.object.url;
      return next;
    });
  };
  const legacyState = useImageSSE({
    fileId: generation?.fileId,
    eventHandlers: [handler],
    enabled: generation !== undefined && legacy.status !== "completed",
  });

  const followed = generation ? (tasks[generation.taskId] ?? WAITING) : WAITING;
  const running = generation !== undefined && followed.status !== "completed";

  async function generate() {
    setProblem(undefined);
    try {
      const started = await post<Generation>("/api/generate");
      setLegacy(WAITING);
      setGeneration(started);
    } catch (error) {
      setProblem(String(error));
    }
  }

  return (
    <>
      <p>
        <button
          type="button"
          onClick={generate}
          disabled={projectId === undefined || connection.status !== "open" || running}
        >
          Generate
        </button>{" "}
        <span data-testid="connection">Connection: {connection.status}</span>
      </p>
      {problem ? <p role="alert">{problem}</p> : null}
      <div className="followers">
        <Follower
          name="useChannel"
          testId="use-channel"
          channel={`project.${projectId ?? "…"}`}
          seen={followed}
        />
        <Follower
          name="useImageSSE"
          testId="use-image-sse"
          channel={`file.${generation?.fileId ?? "…"}`}
          seen={legacy}
        >
          {legacyState.isConnected ? "subscribed" : "not subscribed"}, attempt{" "}
          {legacyState.connectionAttempts} of {legacyState.maxAttempts}
        </Follower>
      </div>
    </>
  );
}

function Follower(props: {
  name: string;
  testId: string;
  channel: string;
  seen: Followed;
  children?: ReactNode;
}) {
  const { name, testId, channel, seen, children } = props;
  const percent = Math.round(seen.progress * 100);
  return (
    <section aria-label={name} data-testid={testId} data-status={seen.status}>
      <h2>
        <code>{name}</code>
      </h2>
      <p>
        <code>{channel}</code>
        {children ? <> · {children}</> : null}
      </p>
      <p>
        Task: <strong>{seen.status}</strong> · {seen.events} events
      </p>
      <progress max={100} value={percent} aria-valuenow={percent} aria-label={`${name} progress`} />{" "}
      {percent}%
      {seen.url ? <img src={seen.url} alt={`Result (${name})`} width={512} height={512} /> : null}
    </section>
  );
}
