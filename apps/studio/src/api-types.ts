/**
 * The shapes of Studio's generation API as this app reads them (docs/API.md). The studio meets
 * the server only through HTTP, so these are written from the contract, not imported.
 */

export type MediaKind = "image" | "video";
export type TaskStatus = "pending" | "in_progress" | "completed" | "error" | "cancelled";

export interface Session {
  userId: string;
  channels: string[];
}

export interface StyleOption {
  name: string;
  label: string;
}

export interface NumberRange {
  min: number;
  max: number;
  default: number;
}

export interface GenerationConfig {
  styles: StyleOption[];
  image: { resolutions: string[]; defaultResolution: string };
  video: {
    resolutions: string[];
    defaultResolution: string;
    durationS: NumberRange;
    frameRate: NumberRange;
  };
  prompt: { maxLength: number };
  seed: { min: number; max: number };
}

export interface FileSettings {
  style?: string;
  resolution?: string;
  seed?: number;
  durationS?: number;
  frameRate?: number;
  imageFileId?: string;
}

/** A file as `GET /api/v1/file/{id}` and `GET /api/v1/files` answer it. */
export interface FileRecord {
  id: string;
  type: MediaKind;
  status: TaskStatus;
  progress: number;
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
  updatedAt: string;
  error?: string;
}

export interface FilePage {
  items: FileRecord[];
  nextCursor?: string;
}

export interface GenerationStarted {
  projectId: string;
  fileId: string;
  taskId: string;
  channels: { project: string; file: string; user: string };
}

export interface ImageRequest {
  prompt: string;
  style?: string;
  resolution?: string;
  seed?: number;
}

export interface VideoRequest extends ImageRequest {
  durationS?: number;
  frameRate?: number;
  imageFileId?: string;
}

export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set([
  "completed",
  "error",
  "cancelled",
]);

export function isRunning(status: TaskStatus): boolean {
  return status === "pending" || status === "in_progress";
}
