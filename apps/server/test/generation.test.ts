/**
 * The generation API end to end (GENERATION_API.md): a real server on a free port, driven over
 * HTTP, followed over SSE, with real renders (pace 0: as fast as the machine goes).
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { follow, shape } from "./support/events.ts";
import { videoFacts } from "./support/mp4-boxes.ts";
import { newUser, startStudio, type TestStudio } from "./support/studio.ts";

let studio: TestStudio;
beforeAll(async () => {
  studio = await startStudio({ renderPace: 0, workers: 2 });
});
afterAll(async () => {
  await studio.close();
});

const COMPLETE_SEQUENCE = [
  "task:pending",
  "task:in_progress",
  "render_progress",
  "render_result",
  "file:completed",
  "task:completed",
];

async function bytesOf(url: string): Promise<{ bytes: Buffer; response: Response }> {
  const response = await fetch(`${studio.url}${url}`);
  return { bytes: Buffer.from(await response.arrayBuffer()), response };
}

describe("an image generation", () => {
  it("runs to the end with the full ordered event sequence, rising progress, and a served PNG", async () => {
    const user = await newUser(studio.url);
    const accepted = await user.post<{
      projectId: string;
      fileId: string;
      taskId: string;
      channels: Record<string, string>;
    }>("/api/v1/generation/image", {
      prompt: "a lighthouse over a stormy ocean at sunset",
      resolution: "512x512",
      seed: 7,
    });
    expect(accepted.status).toBe(202);
    const { projectId, fileId, taskId, channels } = accepted.body;
    expect(channels).toEqual({
      project: `project.${projectId}`,
      file: `file.${fileId}`,
      user: `user.${user.userId}`,
    });

    const project = await follow(studio.url, channels.project as string, user.token);
    const file = await follow(studio.url, channels.file as string, user.token);
    const userStream = await follow(studio.url, channels.user as string, user.token);
    const messages = await project.untilEnded();
    expect(shape(messages)).toEqual(COMPLETE_SEQUENCE);
    expect(shape(await file.untilEnded())).toEqual(COMPLETE_SEQUENCE);
    const userTasks = await userStream.untilEnded();
    expect(userTasks.map((m) => `${m.type}:${String(m.object?.status)}`)).toEqual([
      "task:pending",
      "task:in_progress",
      "task:completed",
    ]);

    const progress = messages
      .filter((m) => m.type === "render_progress")
      .map((m) => m.object?.progress as number);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(1);
    for (const message of messages) {
      expect(message.channel).toBe(channels.project);
      expect(message.projectId).toBe(projectId);
    }
    const result = messages.find((m) => m.type === "render_result")?.object;
    expect(result).toEqual({
      taskId,
      fileId,
      url: `/files/${fileId}.png`,
      contentType: "image/png",
    });

    // Stored before published: the file reads as completed.
    const read = await user.get(`/api/v1/file/${fileId}`);
    expect(read.body).toMatchObject({
      id: fileId,
      type: "image",
      status: "completed",
      progress: 1,
      url: `/files/${fileId}.png`,
      projectId,
      taskId,
    });
    const { bytes, response } = await bytesOf(`/files/${fileId}.png`);
    expect(response.headers.get("content-type")).toBe("image/png");
    expect(Number(response.headers.get("content-length"))).toBe(bytes.length);
    expect(response.headers.get("cache-control")).toContain("immutable");
    expect(bytes.subarray(0, 8)).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    );
    expect(bytes.readUInt32BE(16)).toBe(512);
    expect(bytes.readUInt32BE(20)).toBe(512);

    const projectRead = await user.get<{ files: unknown[]; tasks: unknown[] }>(
      `/api/v1/project/${projectId}`,
    );
    expect(projectRead.body.files).toHaveLength(1);
    expect(projectRead.body.tasks).toEqual([
      expect.objectContaining({ id: taskId, status: "completed" }),
    ]);
    for (const stream of [project, file, userStream]) stream.raw.close();
  });

  it("is deterministic: the same prompt, style, seed and size give the same bytes", async () => {
    const user = await newUser(studio.url);
    const input = {
      prompt: "misty forest, morning light",
      style: "watercolor",
      resolution: "512x512",
      seed: 1234,
    };
    const digests: string[] = [];
    for (const body of [input, input, { ...input, seed: 1235 }]) {
      const accepted = await user.post<{ fileId: string; channels: { file: string } }>(
        "/api/v1/generation/image",
        body,
      );
      await (await follow(studio.url, accepted.body.channels.file, user.token)).untilEnded();
      const { bytes } = await bytesOf(`/files/${accepted.body.fileId}.png`);
      digests.push(createHash("sha256").update(bytes).digest("hex"));
    }
    expect(digests[0]).toBe(digests[1]);
    expect(digests[2]).not.toBe(digests[0]);
  });
});

describe("a video generation", () => {
  it("renders a playable MP4 of the asked duration, frame rate and size, frame by frame", async () => {
    const user = await newUser(studio.url);
    const accepted = await user.post<{ fileId: string; channels: { project: string } }>(
      "/api/v1/generation/video",
      {
        prompt: "waves rolling onto a beach",
        resolution: "426x240",
        durationS: 2,
        frameRate: 12,
        seed: 3,
      },
    );
    expect(accepted.status).toBe(202);
    const messages = await (
      await follow(studio.url, accepted.body.channels.project, user.token)
    ).untilEnded();
    expect(shape(messages)).toEqual(COMPLETE_SEQUENCE);
    const result = messages.find((m) => m.type === "render_result")?.object as {
      url: string;
      contentType: string;
    };
    expect(result.contentType).toMatch(/^video\/(mp4|webm)$/);
    const { bytes, response } = await bytesOf(result.url);
    expect(response.headers.get("content-type")).toBe(result.contentType);
    const video = videoFacts(bytes);
    expect(video).toMatchObject({ width: 426, height: 240, sampleCount: 24 });
    expect(video.mediaDurationS).toBeCloseTo(2, 1);
    expect(video.sampleCount / video.mediaDurationS).toBeCloseTo(12, 1);

    const range = await fetch(`${studio.url}${result.url}`, { headers: { range: "bytes=0-99" } });
    expect(range.status).toBe(206);
    expect(range.headers.get("content-range")).toBe(`bytes 0-99/${bytes.length}`);
    expect(Buffer.from(await range.arrayBuffer())).toEqual(bytes.subarray(0, 100));
  });

  it("starts from a completed image of the user's", async () => {
    const user = await newUser(studio.url);
    const image = await user.post<{ fileId: string; channels: { file: string } }>(
      "/api/v1/generation/image",
      {
        prompt: "a red balloon",
        resolution: "512x512",
        seed: 9,
      },
    );
    await (await follow(studio.url, image.body.channels.file, user.token)).untilEnded();
    const video = await user.post<{ fileId: string; channels: { file: string } }>(
      "/api/v1/generation/video",
      {
        prompt: "the balloon drifts away",
        resolution: "512x512",
        durationS: 1,
        frameRate: 8,
        imageFileId: image.body.fileId,
      },
    );
    expect(video.status).toBe(202);
    const messages = await (
      await follow(studio.url, video.body.channels.file, user.token)
    ).untilEnded();
    expect(shape(messages).at(-1)).toBe("task:completed");
    const read = await user.get(`/api/v1/file/${video.body.fileId}`);
    expect(read.body).toMatchObject({
      status: "completed",
      settings: { imageFileId: image.body.fileId },
    });
  });
});
