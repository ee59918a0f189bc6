/**
 * What a generation tells its watchers (PROTOCOL.md section 4): every event on `project.{id}`
 * and `file.{id}`, task events on `user.{id}` too. Called only after the state it reports is
 * stored, so a client that hears an event finds the same state over the API.
 */
import type { Hub } from "@herald/hub";
import { formatChannel, type PublishedMessage } from "@herald/protocol";
import type { FileRecord, TaskRecord } from "./db/types.ts";

export interface GenerationEvents {
  task(task: TaskRecord): Promise<void>;
  progress(
    task: TaskRecord,
    progress: { progress: number; stage?: string; message?: string; etaMs?: number },
  ): Promise<void>;
  result(task: TaskRecord, file: FileRecord): Promise<void>;
  file(file: FileRecord): Promise<void>;
}

export function channelsOf(record: { userId: string; projectId: string; fileId: string }) {
  return {
    project: formatChannel("project", record.projectId),
    file: formatChannel("file", record.fileId),
    user: formatChannel("user", record.userId),
  };
}

export function taskObject(task: TaskRecord) {
  return {
    id: task.id,
    kind: task.kind,
    status: task.status,
    projectId: task.projectId,
    fileId: task.fileId,
    ...(task.error === undefined ? {} : { error: task.error }),
  };
}

export function fileObject(file: FileRecord) {
  return {
    id: file.id,
    type: file.type,
    status: file.status,
    projectId: file.projectId,
    progress: file.progress,
    ...(file.url === undefined ? {} : { url: file.url, contentType: file.contentType }),
    width: file.settings.width,
    height: file.settings.height,
    ...(file.durationMs === undefined ? {} : { durationMs: file.durationMs }),
    ...(file.error === undefined ? {} : { error: file.error }),
  };
}

export function createGenerationEvents(hub: Hub): GenerationEvents {
  async function send(channels: readonly string[], message: PublishedMessage) {
    for (const channel of channels) await hub.publish(channel, message);
  }
  return {
    async task(task) {
      const channels = channelsOf({
        userId: task.userId,
        projectId: task.projectId,
        fileId: task.fileId,
      });
      const message = {
        type: "task",
        object: taskObject(task),
        projectId: task.projectId,
        ...(task.error === undefined ? {} : { error: task.error }),
      };
      await send([channels.project, channels.file, channels.user], message);
    },
    async progress(task, progress) {
      const channels = channelsOf({
        userId: task.userId,
        projectId: task.projectId,
        fileId: task.fileId,
      });
      const object = { taskId: task.id, fileId: task.fileId, ...progress };
      await send([channels.project, channels.file], {
        type: "render_progress",
        object,
        projectId: task.projectId,
      });
    },
    async result(task, file) {
      const channels = channelsOf({
        userId: task.userId,
        projectId: task.projectId,
        fileId: task.fileId,
      });
      const object = {
        taskId: task.id,
        fileId: file.id,
        url: file.url,
        contentType: file.contentType,
      };
      await send([channels.project, channels.file], {
        type: "render_result",
        object,
        projectId: task.projectId,
      });
    },
    async file(file) {
      const channels = channelsOf({
        userId: file.userId,
        projectId: file.projectId,
        fileId: file.id,
      });
      await send([channels.project, channels.file], {
        type: "file",
        object: fileObject(file),
        projectId: file.projectId,
      });
    },
  };
}
