/** The generation API's refusals, cancel, delete, ownership and reads, over real HTTP. */

import { openRawStream } from "@herald/test-support/raw-sse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { follow, shape } from "./support/events.ts";
import { newUser, startStudio, type TestStudio } from "./support/studio.ts";

let studio: TestStudio;
beforeAll(async () => {
  // Realistic pace and one worker: a render lasts seconds, and a second one waits its turn.
  studio = await startStudio({ renderPace: 1, workers: 1 });
});
afterAll(async () => {
  await studio.close();
});

type Accepted = {
  projectId: string;
  fileId: string;
  taskId: string;
  channels: { project: string; file: string; user: string };
};

describe("bad input", () => {
  const image = "/api/v1/generation/image";
  const video = "/api/v1/generation/video";
  it.each([
    [image, {}, "prompt"],
    [image, { prompt: "" }, "prompt"],
    [image, { prompt: "   " }, "prompt"],
    [image, { prompt: "x".repeat(2001) }, "prompt"],
    [image, { prompt: 42 }, "prompt"],
    [image, { prompt: "ok", style: "no-such-style" }, "style"],
    [image, { prompt: "ok", resolution: "1000x1000" }, "resolution"],
    [image, { prompt: "ok", resolution: "big" }, "resolution"],
    [image, { prompt: "ok", seed: -1 }, "seed"],
    [image, { prompt: "ok", seed: 2 ** 31 }, "seed"],
    [image, { prompt: "ok", seed: 1.5 }, "seed"],
    [image, { prompt: "ok", seed: "7" }, "seed"],
    [image, { prompt: "ok", colour: "red" }, "colour"],
    [video, { prompt: "ok", durationS: 0 }, "durationS"],
    [video, { prompt: "ok", durationS: 11 }, "durationS"],
    [video, { prompt: "ok", frameRate: 7 }, "frameRate"],
    [video, { prompt: "ok", frameRate: 31 }, "frameRate"],
    [video, { prompt: "ok", frameRate: 24.5 }, "frameRate"],
    [video, { prompt: "ok", resolution: "1024x1024" }, "resolution"],
  ])("%s with %j answers 400 naming %s, and creates nothing", async (path, body, field) => {
    const user = await newUser(studio.url);
    const answer = await user.post<{ error: { code: string; message: string; field?: string } }>(
      path,
      body,
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("invalid_request");
    expect(answer.body.error.field).toBe(field);
    expect(answer.body.error.message).toContain(field);
    const files = await user.get<{ items: unknown[] }>("/api/v1/files");
    expect(files.body.items).toEqual([]);
  });

  it.each([
    [image, { prompt: "ok", projectId: "someone-elses" }, "projectId"],
    [video, { prompt: "ok", imageFileId: "not-a-file" }, "imageFileId"],
  ])(
    "%s with %j answers 404 naming %s: no such id of the caller's, and creates nothing",
    async (path, body, field) => {
      const user = await newUser(studio.url);
      const answer = await user.post<{ error: { code: string; field?: string } }>(path, body);
      expect(answer.status).toBe(404);
      expect(answer.body.error).toMatchObject({ code: "not_found", field });
      expect((await user.get<{ items: unknown[] }>("/api/v1/files")).body.items).toEqual([]);
    },
  );

  it("names the range in range refusals, not the type", async () => {
    const user = await newUser(studio.url);
    const answer = await user.post<{ error: { message: string } }>(video, {
      prompt: "ok",
      frameRate: 60,
    });
    expect(answer.body.error.message).not.toContain("must be a number");
    expect(answer.body.error.message).toMatch(/frameRate: .*30/);
  });

  it("answers malformed JSON with 400 and a body that is not JSON with 415", async () => {
    const user = await newUser(studio.url);
    const malformed = await user.post<{ error: { code: string } }>(image, "{not json");
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe("invalid_request");
    const response = await fetch(`${studio.url}${image}`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "text/plain" },
      body: "a cat",
    });
    expect(response.status).toBe(415);
  });
});

describe("cancel", () => {
  it("stops a running render promptly and a pending one before it starts; 409 once ended", async () => {
    const user = await newUser(studio.url);
    const running = (
      await user.post<Accepted>("/api/v1/generation/image", {
        prompt: "a slow sunrise",
        resolution: "1024x1024",
      })
    ).body;
    const waiting = (
      await user.post<Accepted>("/api/v1/generation/image", {
        prompt: "next in line",
        resolution: "512x512",
      })
    ).body;
    const runningEvents = await follow(studio.url, running.channels.file, user.token);
    const waitingEvents = await follow(studio.url, waiting.channels.file, user.token);

    const cancelWaiting = await user.post(`/api/v1/task/${waiting.taskId}/cancel`);
    expect(cancelWaiting.status).toBe(200);
    expect(shape(await waitingEvents.untilEnded())).toEqual([
      "task:pending",
      "file:cancelled",
      "task:cancelled",
    ]);

    await runningEvents.until(
      (all) => all.some((m) => m.type === "render_progress"),
      "the render's first progress",
    );
    const cancelRunning = await user.post(`/api/v1/task/${running.taskId}/cancel`);
    expect(cancelRunning.status).toBe(200);
    // The render stopped: it ends cancelled, with no result (a render that ran on would end
    // with its render_result).
    const events = await runningEvents.untilEnded();
    expect(shape(events).slice(-2)).toEqual(["file:cancelled", "task:cancelled"]);
    expect(events.some((m) => m.type === "render_result")).toBe(false);

    const again = await user.post<{ error: { code: string } }>(
      `/api/v1/task/${running.taskId}/cancel`,
    );
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("conflict");
    expect((await user.get(`/api/v1/file/${running.fileId}`)).body).toMatchObject({
      status: "cancelled",
    });
    expect((await user.get(`/api/v1/file/${waiting.fileId}`)).body).toMatchObject({
      status: "cancelled",
    });
    // The render stopped: nothing more arrives for it, not even a late result.
    expect((await user.get(`/api/v1/file/${running.fileId}`)).body).not.toHaveProperty("url");
  });
});

describe("failure", () => {
  it("ends a render that cannot run with task(error) carrying the reason, stored before it is told", async () => {
    const user = await newUser(studio.url);
    const image = (
      await user.post<Accepted>("/api/v1/generation/image", {
        prompt: "start frame",
        resolution: "512x512",
      })
    ).body;
    await (await follow(studio.url, image.channels.file, user.token)).untilEnded();
    // One worker: the video waits behind a long render while its start image is deleted.
    const blocker = (
      await user.post<Accepted>("/api/v1/generation/image", {
        prompt: "a long one",
        resolution: "1024x1024",
      })
    ).body;
    const video = (
      await user.post<Accepted>("/api/v1/generation/video", {
        prompt: "from the start frame",
        resolution: "426x240",
        durationS: 1,
        frameRate: 8,
        imageFileId: image.fileId,
      })
    ).body;
    const events = await follow(studio.url, video.channels.project, user.token);
    expect((await user.delete(`/api/v1/file/${image.fileId}`)).status).toBe(204);
    const messages = await events.untilEnded();
    const ofVideo = messages.filter(
      (m) =>
        m.object?.fileId === video.fileId ||
        m.object?.id === video.fileId ||
        m.object?.taskId === video.taskId,
    );
    expect(shape(ofVideo)).toEqual([
      "task:pending",
      "task:in_progress",
      "file:error",
      "task:error",
    ]);
    const failed = ofVideo.at(-1);
    expect(failed?.object?.error).toMatch(/start image/);
    expect(failed?.error).toBe(failed?.object?.error);
    expect((await user.get(`/api/v1/file/${video.fileId}`)).body).toMatchObject({
      status: "error",
      error: failed?.object?.error,
    });
    await user.post(`/api/v1/task/${blocker.taskId}/cancel`);
  });
});

describe("ownership", () => {
  it("keeps two users apart: another user's ids answer 404 and their channels 403", async () => {
    const alice = await newUser(studio.url);
    const bob = await newUser(studio.url);
    const made = (
      await alice.post<Accepted>("/api/v1/generation/image", {
        prompt: "alice's cat",
        resolution: "512x512",
      })
    ).body;
    for (const path of [`/api/v1/file/${made.fileId}`, `/api/v1/project/${made.projectId}`]) {
      expect((await bob.get(path)).status).toBe(404);
    }
    expect((await bob.post(`/api/v1/task/${made.taskId}/cancel`)).status).toBe(404);
    expect((await bob.delete(`/api/v1/file/${made.fileId}`)).status).toBe(404);
    expect((await bob.get<{ items: unknown[] }>("/api/v1/files")).body.items).toEqual([]);
    const usingProject = await bob.post<{ error: { field: string } }>("/api/v1/generation/image", {
      prompt: "x",
      projectId: made.projectId,
    });
    expect(usingProject.status).toBe(404);
    for (const channel of Object.values(made.channels)) {
      const stream = await openRawStream(`${studio.url}/api/v1/events/${channel}`, {
        authorization: `Bearer ${bob.token}`,
      });
      expect(stream.status).toBe(403);
      stream.close();
    }
    const own = await openRawStream(`${studio.url}/api/v1/events/${made.channels.project}`, {
      authorization: `Bearer ${alice.token}`,
    });
    expect(own.status).toBe(200);
    own.close();
    await alice.post(`/api/v1/task/${made.taskId}/cancel`);
  });

  it("gives a browser a session cookie and the herald_token cookie that opens its streams", async () => {
    const response = await fetch(`${studio.url}/api/v1/session`);
    const cookies = response.headers.getSetCookie();
    const session = cookies.find((cookie) => cookie.startsWith("herald_session="));
    const events = cookies.find((cookie) => cookie.startsWith("herald_token="));
    expect(session).toMatch(/HttpOnly/i);
    expect(session).toMatch(/SameSite=Lax/i);
    expect(events).toBeDefined();
    const { userId } = (await response.json()) as { userId: string };
    const cookieHeader = cookies.map((cookie) => cookie.split(";")[0]).join("; ");
    const again = (await (
      await fetch(`${studio.url}/api/v1/session`, { headers: { cookie: cookieHeader } })
    ).json()) as { userId: string };
    expect(again.userId).toBe(userId);
    const stream = await openRawStream(`${studio.url}/api/v1/events/user.${userId}`, {
      cookie: cookieHeader,
    });
    expect(stream.status).toBe(200);
    stream.close();
  });
});

describe("reads and delete", () => {
  it("pages the user's files newest first, filters by type, deletes a file and its bytes", async () => {
    const user = await newUser(studio.url);
    const made: Accepted[] = [];
    for (let n = 0; n < 3; n++) {
      const accepted = (
        await user.post<Accepted>("/api/v1/generation/image", {
          prompt: `tiny ${n}`,
          resolution: "512x512",
        })
      ).body;
      made.push(accepted);
      await (await follow(studio.url, accepted.channels.file, user.token)).untilEnded();
    }
    const first = await user.get<{ items: Array<{ id: string }>; nextCursor?: string }>(
      "/api/v1/files?limit=2",
    );
    expect(first.body.items.map((f) => f.id)).toEqual([made[2]?.fileId, made[1]?.fileId]);
    const second = await user.get<{ items: Array<{ id: string }>; nextCursor?: string }>(
      `/api/v1/files?limit=2&cursor=${first.body.nextCursor}`,
    );
    expect(second.body.items.map((f) => f.id)).toEqual([made[0]?.fileId]);
    expect(second.body.nextCursor).toBeUndefined();
    expect((await user.get<{ items: unknown[] }>("/api/v1/files?type=video")).body.items).toEqual(
      [],
    );
    expect((await user.get("/api/v1/files?limit=0")).status).toBe(400);

    const target = made[0] as Accepted;
    const url = `/files/${target.fileId}.png`;
    expect((await fetch(`${studio.url}${url}`)).status).toBe(200);
    expect((await user.delete(`/api/v1/file/${target.fileId}`)).status).toBe(204);
    expect((await user.get(`/api/v1/file/${target.fileId}`)).status).toBe(404);
    expect((await fetch(`${studio.url}${url}`)).status).toBe(404);
  });

  it("lists the styles, resolutions and limits it accepts, and an OpenAPI 3.1 document", async () => {
    const config = await (await fetch(`${studio.url}/api/v1/config/generation`)).json();
    expect(config).toMatchObject({
      image: { defaultResolution: "1024x1024" },
      video: {
        defaultResolution: "1280x720",
        durationS: { min: 1, max: 10, default: 5 },
        frameRate: { min: 8, max: 30, default: 24 },
      },
    });
    expect((config as { styles: unknown[] }).styles.length).toBeGreaterThan(0);
    const openapi = (await (await fetch(`${studio.url}/api/v1/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(openapi.openapi).toBe("3.1.0");
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        "/api/v1/generation/image",
        "/api/v1/generation/video",
        "/api/v1/file/{id}",
        "/api/v1/task/{id}/cancel",
        "/api/v1/events/{channel}",
      ]),
    );
  });
});
