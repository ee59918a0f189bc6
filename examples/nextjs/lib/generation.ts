// lib/generation.ts
import { hub } from "@/lib/herald";

interface Generation {
  projectId: string;
  taskId: string;
  fileId: string;
}

// Stands in for a renderer: about 3 seconds of progress, then the result. Each event goes to the
// project's channel and the file's, in the order of a generation (docs/PROTOCOL.md, section 4).
export async function runGeneration({ projectId, taskId, fileId }: Generation) {
  // To both channels, typed as hub.publish types it: a wrong `object` fails to compile.
  const publish = async <T extends string>(message: Parameters<typeof hub.publish<T>>[1]) => {
    await hub.publish(`project.${projectId}`, message);
    await hub.publish(`file.${fileId}`, message);
  };
  const task = (status: "pending" | "in_progress" | "completed") => ({
    type: "task" as const,
    object: { id: taskId, kind: "image", status, projectId, fileId },
    projectId,
  });
  const url = `/result.svg?file=${fileId}`;
  const contentType = "image/svg+xml";

  await publish(task("pending"));
  await publish(task("in_progress"));
  for (let step = 1; step <= 8; step++) {
    await new Promise((resolve) => setTimeout(resolve, 400)); // rendering…
    await publish({
      type: "render_progress",
      object: { taskId, fileId, progress: step / 8, stage: step < 8 ? "denoise" : "encode" },
      projectId,
    });
  }
  await publish({ type: "render_result", object: { taskId, fileId, url, contentType }, projectId });
  await publish({
    type: "file",
    object: { id: fileId, type: "image", status: "completed", url, contentType, projectId },
    projectId,
  });
  await publish(task("completed"));
}
