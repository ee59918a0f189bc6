/** The generation API of GENERATION_API.md, on Fastify. */
import { randomInt } from "node:crypto";
import { HeraldError } from "@herald/protocol";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { Database, FileRecord, MediaKind, TaskRecord } from "../db/types.ts";
import { channelsOf, taskObject } from "../events.ts";
import { STYLES } from "../render/index.ts";
import { type Sessions, userChannel } from "../sessions.ts";
import type { FileStorage } from "../storage.ts";
import type { TaskLifecycle } from "../tasks/lifecycle.ts";
import {
  fileListQuerySchema,
  IMAGE_RESOLUTIONS,
  idSchema,
  imageGenerationSchema,
  MAX_SEED,
  VIDEO_LIMITS,
  VIDEO_RESOLUTIONS,
  videoGenerationSchema,
} from "./schemas.ts";

export interface ApiDependencies {
  db: Database;
  storage: FileStorage;
  lifecycle: TaskLifecycle;
  sessions: Sessions;
}

export async function registerApi(app: FastifyInstance, deps: ApiDependencies): Promise<void> {
  const { db, lifecycle, sessions, storage } = deps;
  const user = (request: FastifyRequest, reply: FastifyReply) => sessions.userOf(request, reply);

  app.get("/api/v1/session", async (request, reply) => {
    const userId = await user(request, reply);
    await sessions.setEventsCookie(reply, userId);
    return { userId, channels: [userChannel(userId)], token: await sessions.sessionToken(userId) };
  });

  app.get("/api/v1/config/generation", async () => generationConfig());

  app.post("/api/v1/generation/image", async (request, reply) => {
    const input = parseInput(imageGenerationSchema, request.body);
    const userId = await user(request, reply);
    const [width, height] = dimensions(input.resolution);
    return startGeneration(reply, userId, "image", input.prompt, input.projectId, {
      style: input.style,
      width,
      height,
      seed: input.seed ?? randomInt(MAX_SEED),
    });
  });

  app.post("/api/v1/generation/video", async (request, reply) => {
    const input = parseInput(videoGenerationSchema, request.body);
    const userId = await user(request, reply);
    if (input.imageFileId !== undefined) {
      const image = await db.getFile(input.imageFileId);
      if (!image || image.userId !== userId) {
        throw new HeraldError("not_found", "imageFileId: no image with that id is yours", {
          field: "imageFileId",
        });
      }
      if (image.type !== "image" || image.status !== "completed") {
        throw new HeraldError("invalid_request", "imageFileId: must be a completed image", {
          field: "imageFileId",
        });
      }
    }
    const [width, height] = dimensions(input.resolution);
    return startGeneration(reply, userId, "video", input.prompt, input.projectId, {
      style: input.style,
      width,
      height,
      seed: input.seed ?? randomInt(MAX_SEED),
      durationS: input.durationS,
      frameRate: input.frameRate,
      imageFileId: input.imageFileId,
    });
  });

  async function startGeneration(
    reply: FastifyReply,
    userId: string,
    kind: MediaKind,
    prompt: string,
    projectId: string | undefined,
    settings: FileRecord["settings"],
  ) {
    const task = await lifecycle.create({ userId, kind, prompt, projectId, settings });
    reply.code(202);
    return {
      projectId: task.projectId,
      fileId: task.fileId,
      taskId: task.id,
      channels: channelsOf(task),
    };
  }

  app.get<{ Params: { id: string } }>("/api/v1/file/:id", async (request, reply) => {
    const userId = await user(request, reply);
    return fileView(await ownedFile(pathId(request), userId));
  });

  app.delete<{ Params: { id: string } }>("/api/v1/file/:id", async (request, reply) => {
    const userId = await user(request, reply);
    const file = await ownedFile(pathId(request), userId);
    await lifecycle.cancel(file.taskId);
    await db.deleteFile(file.id);
    if (file.storageKey) await storage.delete(file.storageKey);
    reply.code(204);
  });

  app.get<{ Params: { id: string } }>("/api/v1/project/:id", async (request, reply) => {
    const userId = await user(request, reply);
    const project = await db.getProject(pathId(request));
    if (!project || project.userId !== userId) throw notFound("project");
    const [files, tasks] = await Promise.all([
      db.listProjectFiles(project.id),
      db.listProjectTasks(project.id),
    ]);
    return {
      id: project.id,
      createdAt: project.createdAt.toISOString(),
      files: files.map(fileView),
      tasks: tasks.map(taskView),
    };
  });

  app.get("/api/v1/files", async (request, reply) => {
    const query = parseInput(fileListQuerySchema, request.query);
    const userId = await user(request, reply);
    const page = await db.listFiles(userId, query);
    return {
      items: page.items.map(fileView),
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    };
  });

  app.post<{ Params: { id: string } }>("/api/v1/task/:id/cancel", async (request, reply) => {
    const userId = await user(request, reply);
    const task = await db.getTask(pathId(request));
    if (!task || task.userId !== userId) throw notFound("task");
    const cancelled = await lifecycle.cancel(task.id);
    if (!cancelled) {
      const now = await db.getTask(task.id);
      throw new HeraldError(
        "conflict",
        `the task has already ended (${now?.status ?? task.status}); there is nothing to cancel`,
      );
    }
    return taskView(cancelled.task);
  });

  async function ownedFile(id: string, userId: string): Promise<FileRecord> {
    const file = await db.getFile(id);
    if (!file || file.userId !== userId) throw notFound("file");
    return file;
  }
}

export function generationConfig() {
  return {
    styles: STYLES.map(({ name, label }) => ({ name, label })),
    image: { resolutions: [...IMAGE_RESOLUTIONS], defaultResolution: "1024x1024" },
    video: {
      resolutions: [...VIDEO_RESOLUTIONS],
      defaultResolution: "1280x720",
      durationS: { ...VIDEO_LIMITS.durationS },
      frameRate: { ...VIDEO_LIMITS.frameRate },
    },
    prompt: { maxLength: 2000 },
    seed: { min: 0, max: MAX_SEED },
  };
}

export function fileView(file: FileRecord) {
  const { settings } = file;
  return {
    id: file.id,
    type: file.type,
    status: file.status,
    progress: file.progress,
    ...(file.url === undefined ? {} : { url: file.url, contentType: file.contentType }),
    width: settings.width,
    height: settings.height,
    ...(file.durationMs === undefined ? {} : { durationMs: file.durationMs }),
    prompt: file.prompt,
    settings: {
      ...(settings.style === undefined ? {} : { style: settings.style }),
      resolution: `${settings.width}x${settings.height}`,
      seed: settings.seed,
      ...(settings.durationS === undefined ? {} : { durationS: settings.durationS }),
      ...(settings.frameRate === undefined ? {} : { frameRate: settings.frameRate }),
      ...(settings.imageFileId === undefined ? {} : { imageFileId: settings.imageFileId }),
    },
    projectId: file.projectId,
    taskId: file.taskId,
    createdAt: file.createdAt.toISOString(),
    updatedAt: file.updatedAt.toISOString(),
    ...(file.error === undefined ? {} : { error: file.error }),
  };
}

/** A task as the API answers it: what its events carry, and when. */
export function taskView(task: TaskRecord) {
  return {
    ...taskObject(task),
    createdAt: task.createdAt.toISOString(),
    updatedAt: task.updatedAt.toISOString(),
  };
}

/** Validates input, refusing with the first field at fault named. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join(".") || undefined;
  const message = issue
    ? issue.code === "unrecognized_keys"
      ? `unknown field${issue.keys.length > 1 ? "s" : ""}: ${issue.keys.join(", ")}`
      : `${field ?? "body"}: ${issue.message}`
    : "the request body is not valid";
  const unknownField = issue?.code === "unrecognized_keys" ? issue.keys[0] : undefined;
  throw new HeraldError("invalid_request", message, {
    ...((field ?? unknownField) ? { field: field ?? unknownField } : {}),
  });
}

/** The `{id}` of a path, checked before any database sees it (a NUL there was a 500). */
function pathId(request: FastifyRequest<{ Params: { id: string } }>): string {
  return parseInput(z.object({ id: idSchema }), request.params).id;
}

function dimensions(resolution: string): [number, number] {
  const [width, height] = resolution.split("x").map(Number);
  return [width as number, height as number];
}

function notFound(what: string): HeraldError {
  return new HeraldError("not_found", `no ${what} with that id is yours`);
}
