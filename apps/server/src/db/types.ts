/**
 * The studio's state, behind one interface: the embedded store (PGlite under DATA_DIR, no
 * server needed) and PostgreSQL (DATABASE_URL) both implement it and pass one contract suite.
 */

export type MediaKind = "image" | "video";
export type TaskStatus = "pending" | "in_progress" | "completed" | "error" | "cancelled";
export const ENDED_STATUSES: readonly TaskStatus[] = ["completed", "error", "cancelled"];

export interface User {
  id: string;
  createdAt: Date;
}

export interface Project {
  id: string;
  userId: string;
  createdAt: Date;
}

/** What the user asked for; stored as JSON with the file. */
export interface GenerationSettings {
  style?: string | undefined;
  width: number;
  height: number;
  seed: number;
  /** Videos only. */
  durationS?: number | undefined;
  frameRate?: number | undefined;
  imageFileId?: string | undefined;
}

export interface FileRecord {
  id: string;
  userId: string;
  projectId: string;
  taskId: string;
  type: MediaKind;
  /** Follows its task's status. */
  status: TaskStatus;
  /** The last render_progress fraction, 0 to 1. */
  progress: number;
  prompt: string;
  settings: GenerationSettings;
  url?: string | undefined;
  contentType?: string | undefined;
  /** Where the bytes are in file storage. */
  storageKey?: string | undefined;
  sizeBytes?: number | undefined;
  durationMs?: number | undefined;
  error?: string | undefined;
  createdAt: Date;
  updatedAt: Date;
}

export interface TaskRecord {
  id: string;
  userId: string;
  projectId: string;
  fileId: string;
  kind: MediaKind;
  status: TaskStatus;
  error?: string | undefined;
  /** How many times a worker has started it (a crash then a restart makes 2). */
  attempts: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewGeneration {
  userId: string;
  /** An existing project of the user, or a new one with this id (`createProject`). */
  projectId: string;
  createProject: boolean;
  file: Pick<FileRecord, "id" | "type" | "prompt" | "settings">;
  taskId: string;
  /**
   * Refuse (HeraldError `too_many_tasks`) if the user already has this many tasks pending or in
   * progress; counted under a lock on the user, so concurrent requests cannot all slip past.
   */
  maxUnfinishedTasks?: number | undefined;
}

export interface FilePage {
  items: FileRecord[];
  /** Pass back as `cursor` for the next page; absent on the last page. */
  nextCursor?: string | undefined;
}

/** The change of a task's state, and of its file with it, in one transaction. */
export interface Transition {
  taskId: string;
  /** Applied only if the task is in one of these states now. */
  from: readonly TaskStatus[];
  to: TaskStatus;
  error?: string | undefined;
  /** Fields of the file to set along with the file's status (which becomes `to`). */
  file?: Partial<
    Pick<FileRecord, "progress" | "url" | "contentType" | "storageKey" | "sizeBytes" | "durationMs">
  >;
  /** Count a new attempt (a worker starting the task). */
  countAttempt?: boolean;
}

export interface Database {
  /** Creates or updates the schema (migrations run at start). */
  migrate(): Promise<void>;
  /** Answers the existing user, unchanged, when the id is taken (sessions may race). */
  createUser(id: string): Promise<User>;
  getUser(id: string): Promise<User | undefined>;
  getProject(id: string): Promise<Project | undefined>;
  /**
   * Project (if new), file (pending) and task (pending) in one transaction. The user must
   * exist; an existing project of another user (or none) rejects with HeraldError `not_found`.
   */
  createGeneration(
    generation: NewGeneration,
  ): Promise<{ project: Project; file: FileRecord; task: TaskRecord }>;
  getFile(id: string): Promise<FileRecord | undefined>;
  getTask(id: string): Promise<TaskRecord | undefined>;
  /**
   * The user's files, newest first (createdAt then id, descending), not deleted. `limit` is
   * clamped to 1..100; a cursor this store did not make rejects with `invalid_cursor`.
   */
  listFiles(
    userId: string,
    options: { type?: MediaKind | undefined; limit: number; cursor?: string | undefined },
  ): Promise<FilePage>;
  /** Oldest first, not deleted. */
  listProjectFiles(projectId: string): Promise<FileRecord[]>;
  /** Oldest first, including those whose file was deleted. */
  listProjectTasks(projectId: string): Promise<TaskRecord[]>;
  /**
   * Moves a task (and its file) to a new state if it is in one of `from`; answers the updated
   * records, or `undefined` if the task was not in such a state (someone else moved it first).
   * `file.progress` never lowers the stored progress. A deleted file is still updated and
   * answered (a task may end after its file was removed).
   */
  transition(transition: Transition): Promise<{ task: TaskRecord; file: FileRecord } | undefined>;
  /**
   * Stores render progress (never lower than what is stored, clamped to 0..1); a no-op for a
   * file that has ended, was deleted or does not exist.
   */
  setProgress(fileId: string, progress: number): Promise<void>;
  /** Bytes of the user's stored files, deleted ones not counted (the storage quota). */
  storedBytes(userId: string): Promise<number>;
  /**
   * Removes users made before `createdBefore` that own no project (sessions that never
   * generated anything); answers how many.
   */
  deleteIdleUsers(createdBefore: Date): Promise<number>;
  /** Tasks left pending or in progress, oldest first (taken up again at start). */
  listUnfinishedTasks(): Promise<TaskRecord[]>;
  /** Removes a file record (its task stays, for the project's history); a no-op if gone. */
  deleteFile(id: string): Promise<void>;
  /** Resolves while the database answers (for /readyz). */
  check(): Promise<void>;
  /** Releases the PGlite instance or the connection pool; safe to call twice. */
  close(): Promise<void>;
}
