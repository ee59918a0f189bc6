import { hub } from "@/lib/herald";

export interface Generation {
  projectId: string;
  taskId: string;
  fileId: string;
}

const STEPS = 8;
const STEP_MS = 400;
const STAGES = ["prompt", "denoise", "denoise", "denoise", "denoise", "refine", "refine", "encode"];

/**
 * Stands in for a renderer: publishes one generation's events in the order PROTOCOL.md section 4
 * gives them, `task(pending)` to `task(completed)`, with progress spread over about 3 seconds.
 * Each event goes to the project's channel and to the file's, as a generation's events do.
 */
export async function runFakeGeneration({ projectId, taskId, fileId }: Generation): Promise<void> {
  const channels = [`project.${projectId}`, `file.${fileId}`];
  const url = `/result.svg?file=${fileId}`;
  const contentType = "image/svg+xml";

  const publish = async (message: Parameters<typeof hub.publish>[1]) => {
    for (const channel of channels) await hub.publish(channel, message);
  };
  const task = (status: "pending" | "in_progress" | "completed") => ({
    type: "task",
    object: { id: taskId, kind: "image", status, projectId, fileId },
    projectId,
  });

  await publish(task("pending"));
  await publish(task("in_progress"));
  for (let step = 1; step <= STEPS; step++) {
    await new Promise((resolve) => setTimeout(resolve, STEP_MS));
    await publish({
      type: "render_progress",
      object: {
        taskId,
        fileId,
        progress: step / STEPS,
        stage: STAGES[step - 1],
        etaMs: (STEPS - step) * STEP_MS,
      },
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
