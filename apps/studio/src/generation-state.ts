/**
 * The state of a page's generations, built from two sources that arrive in any order: the
 * file as the REST API reads it, and the events of its `file.{id}` channel (docs/API.md,
 * "Events of a generation"). Merging never moves backwards: progress only rises, a status
 * only advances (pending → in_progress → an end), and an end is final. So a REST read that
 * answers after a newer event, or an event replayed after a newer read, changes nothing, and
 * a page that reloads mid-render never shows its bar going back to zero.
 */
import type { FileRecord, FileSettings, MediaKind, TaskStatus } from "./api-types.ts";

export interface Generation {
  id: string;
  type: MediaKind;
  status: TaskStatus;
  /** 0 to 1. */
  progress: number;
  /** The renderer's current step and a line for a person, from the last `render_progress`. */
  stage?: string;
  message?: string;
  /** Time left as the renderer last estimated it. */
  etaMs?: number;
  url?: string;
  contentType?: string;
  width: number;
  height: number;
  durationMs?: number;
  prompt: string;
  settings: FileSettings;
  projectId: string;
  taskId: string;
  createdAt: string;
  error?: string;
}

export interface GenerationsState {
  byId: Readonly<Record<string, Generation>>;
  /** Files this page deleted: late events or reads about them must not bring them back. */
  deleted: ReadonlySet<string>;
}

export const emptyGenerations: GenerationsState = { byId: {}, deleted: new Set() };

/** A message of a `file.{id}` or `user.{id}` channel, as far as this page reads it. */
export interface ChannelMessage {
  type: string;
  object?: Record<string, unknown>;
  error?: string;
}

export type GenerationsAction =
  | { type: "records"; records: readonly FileRecord[] }
  | { type: "message"; message: ChannelMessage }
  | { type: "removed"; id: string };

export function generationsReducer(
  state: GenerationsState,
  action: GenerationsAction,
): GenerationsState {
  switch (action.type) {
    case "records": {
      let byId = state.byId;
      for (const record of action.records) {
        if (state.deleted.has(record.id)) continue;
        const next = mergeRecord(byId[record.id], record);
        if (next !== byId[record.id]) byId = { ...byId, [record.id]: next };
      }
      return byId === state.byId ? state : { ...state, byId };
    }
    case "message": {
      const id = fileIdOf(action.message);
      const current = id === undefined ? undefined : state.byId[id];
      if (id === undefined || !current) return state;
      const next = applyMessage(current, action.message);
      return next === current ? state : { ...state, byId: { ...state.byId, [id]: next } };
    }
    case "removed": {
      if (!(action.id in state.byId) && state.deleted.has(action.id)) return state;
      const { [action.id]: _gone, ...byId } = state.byId;
      return { byId, deleted: new Set([...state.deleted, action.id]) };
    }
  }
}

const RANK: Record<TaskStatus, number> = {
  pending: 0,
  in_progress: 1,
  completed: 2,
  error: 2,
  cancelled: 2,
};

export function isFinal(status: TaskStatus): boolean {
  return RANK[status] === 2;
}

/** The status that comes later in a task's life; an end is never replaced. */
export function laterStatus(current: TaskStatus, incoming: TaskStatus): TaskStatus {
  if (isFinal(current)) return current;
  return RANK[incoming] > RANK[current] ? incoming : current;
}

export function fromRecord(record: FileRecord): Generation {
  return {
    id: record.id,
    type: record.type,
    status: record.status,
    progress: clamp(record.status === "completed" ? 1 : record.progress),
    url: record.url,
    contentType: record.contentType,
    width: record.width,
    height: record.height,
    durationMs: record.durationMs,
    prompt: record.prompt,
    settings: record.settings,
    projectId: record.projectId,
    taskId: record.taskId,
    createdAt: record.createdAt,
    error: record.error,
  };
}

export function mergeRecord(current: Generation | undefined, record: FileRecord): Generation {
  const incoming = fromRecord(record);
  if (!current) return incoming;
  const status = laterStatus(current.status, incoming.status);
  // Fields that only the record knows come from it; what the events built stays where newer.
  const merged: Generation = {
    ...current,
    prompt: incoming.prompt,
    settings: incoming.settings,
    width: incoming.width,
    height: incoming.height,
    projectId: incoming.projectId,
    taskId: incoming.taskId,
    createdAt: incoming.createdAt,
    status,
    progress: Math.max(current.progress, status === "completed" ? 1 : incoming.progress),
    url: current.url ?? incoming.url,
    contentType: current.contentType ?? incoming.contentType,
    durationMs: current.durationMs ?? incoming.durationMs,
    error: current.error ?? (status === incoming.status ? incoming.error : undefined),
  };
  return sameGeneration(current, merged) ? current : merged;
}

export function applyMessage(current: Generation, message: ChannelMessage): Generation {
  const object = message.object ?? {};
  let next: Generation = current;
  switch (message.type) {
    case "task": {
      const status = readStatus(object.status);
      if (!status) return current;
      const error = stringOf(object.error) ?? message.error;
      next = withStatus(current, status, error);
      break;
    }
    case "render_progress": {
      const progress = numberOf(object.progress);
      if (progress === undefined || isFinal(current.status)) return current;
      // An event older than what is drawn (a replay after a REST read) must not pull the text
      // back either; only the bar's height would be wrong, and that cannot fall anyway.
      if (progress < current.progress) return current;
      next = {
        ...current,
        status: laterStatus(current.status, "in_progress"),
        progress: clamp(progress),
        stage: stringOf(object.stage),
        message: stringOf(object.message),
        etaMs: numberOf(object.etaMs),
      };
      break;
    }
    case "render_result": {
      const url = stringOf(object.url);
      if (!url) return current;
      next = {
        ...current,
        url: current.url ?? url,
        contentType: current.contentType ?? stringOf(object.contentType),
        progress: 1,
      };
      break;
    }
    case "file": {
      const status = readStatus(object.status);
      const progress = numberOf(object.progress);
      next = {
        ...current,
        url: current.url ?? stringOf(object.url),
        contentType: current.contentType ?? stringOf(object.contentType),
        durationMs: current.durationMs ?? numberOf(object.durationMs),
        progress: Math.max(current.progress, clamp(progress ?? 0)),
      };
      if (status) next = withStatus(next, status, stringOf(object.error));
      break;
    }
    default:
      return current;
  }
  return sameGeneration(current, next) ? current : next;
}

function withStatus(current: Generation, incoming: TaskStatus, error?: string): Generation {
  const status = laterStatus(current.status, incoming);
  if (status === current.status) return current;
  return {
    ...current,
    status,
    progress: status === "completed" ? 1 : current.progress,
    etaMs: isFinal(status) ? undefined : current.etaMs,
    error: status === "error" ? (error ?? current.error ?? "The render failed.") : current.error,
  };
}

/** The file a message is about: `object.fileId` (task, progress, result) or `object.id` (file). */
export function fileIdOf(message: ChannelMessage): string | undefined {
  const object = message.object;
  if (!object) return undefined;
  if (message.type === "file") return stringOf(object.id);
  return stringOf(object.fileId);
}

export function readStatus(value: unknown): TaskStatus | undefined {
  return typeof value === "string" && value in RANK ? (value as TaskStatus) : undefined;
}

/** The page's files, newest first, as the server lists them (by `createdAt`, then `id`). */
export function newestFirst(state: GenerationsState): Generation[] {
  return Object.values(state.byId).sort((a, b) =>
    a.createdAt === b.createdAt ? b.id.localeCompare(a.id) : a.createdAt < b.createdAt ? 1 : -1,
  );
}

function stringOf(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function numberOf(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function clamp(progress: number): number {
  return Math.min(1, Math.max(0, progress));
}

function sameGeneration(a: Generation, b: Generation): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof Generation)[]);
  for (const key of keys) {
    if (key === "settings") {
      // Every REST read brings a new settings object with the same content.
      if (JSON.stringify(a.settings) !== JSON.stringify(b.settings)) return false;
    } else if (a[key] !== b[key]) return false;
  }
  return true;
}
