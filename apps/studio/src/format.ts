/** Words and numbers as a person reads them: percentages, time left, statuses. */
import type { TaskStatus } from "./api-types.ts";

export function percent(progress: number): number {
  return Math.round(Math.min(1, Math.max(0, progress)) * 100);
}

export function timeLeft(etaMs: number | undefined): string | undefined {
  if (etaMs === undefined) return undefined;
  const seconds = Math.ceil(etaMs / 1000);
  if (seconds <= 1) return "almost done";
  if (seconds < 60) return `about ${seconds} s left`;
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  return rest === 0 ? `about ${minutes} min left` : `about ${minutes} min ${rest} s left`;
}

const STATUS_LABELS: Record<TaskStatus, string> = {
  pending: "Queued",
  in_progress: "Rendering",
  completed: "Done",
  error: "Failed",
  cancelled: "Cancelled",
};

export function statusLabel(status: TaskStatus): string {
  return STATUS_LABELS[status];
}

/** "painting" → "Painting"; the stage is free text from the renderer. */
export function stageLabel(stage: string | undefined): string | undefined {
  if (!stage) return undefined;
  return stage.charAt(0).toUpperCase() + stage.slice(1).replaceAll("_", " ");
}

export function parseResolution(resolution: string | undefined): { width: number; height: number } {
  const match = /^(\d+)x(\d+)$/.exec(resolution ?? "");
  return match ? { width: Number(match[1]), height: Number(match[2]) } : { width: 1, height: 1 };
}

export function shortTime(iso: string, now: Date = new Date()): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const sameDay = date.toDateString() === now.toDateString();
  return sameDay
    ? date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

export function fileExtension(contentType: string | undefined, kind: "image" | "video"): string {
  if (contentType === "video/mp4") return "mp4";
  if (contentType === "image/png") return "png";
  return kind === "video" ? "mp4" : "png";
}

/** An error's message for a person, whatever was thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
