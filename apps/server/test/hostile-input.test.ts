/**
 * Hostile input to every REST parameter and body field, against the server as `npm start` runs
 * it: a refusal is a 4xx naming the field, never a 500, and what users typed never reaches the
 * error log.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerProcess, startServerProcess } from "./support/process.ts";

let server: ServerProcess;
let dataDir: string;
let token: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "herald-hostile-"));
  server = await startServerProcess({ DATA_DIR: dataDir, RENDER_PACE: "0", WORKERS: "1" });
  const session = (await (await fetch(`${server.url}/api/v1/session`)).json()) as {
    token: string;
  };
  token = session.token;
});
afterAll(async () => {
  await server?.kill();
  await rm(dataDir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  body: { error?: { code: string; message: string; field?: string } } | undefined;
}

async function call(method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: Answer["body"];
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed };
}

/** Every byte percent-encoded: lone surrogates and invalid UTF-8 reach the server as they are. */
function percentEncoded(bytes: Uint8Array): string {
  return [...bytes].map((byte) => `%${byte.toString(16).padStart(2, "0")}`).join("");
}
const utf8 = (text: string) => new Uint8Array(Buffer.from(text, "utf8"));

const nasty = fc.constantFrom("\0", "\uD800", "\uDC00", "\uFFFF", "%", "/", "..", "\n", "'", '"');
/** Arbitrary text, with the characters databases and URL parsers choke on mixed in. */
const text = fc.oneof(
  fc.string({ unit: "binary" }),
  fc.string({ unit: fc.oneof(nasty, fc.string({ unit: "binary", minLength: 1, maxLength: 1 })) }),
  fc.string({ unit: "grapheme" }),
);
const pathSegment = fc.oneof(
  text.map((value) => percentEncoded(utf8(value))),
  fc.uint8Array({ minLength: 1, maxLength: 40 }).map(percentEncoded),
);

describe("hostile input", () => {
  it("answers a NUL byte in a prompt with 400 naming prompt, and stores nothing", async () => {
    const answer = await call("POST", "/api/v1/generation/image", {
      prompt: "secret prompt text\u0000with a NUL",
    });
    expect(answer.status).toBe(400);
    expect(answer.body?.error).toMatchObject({ code: "invalid_request", field: "prompt" });
    const video = await call("POST", "/api/v1/generation/video", { prompt: "lone \uD800 half" });
    expect(video.status).toBe(400);
    expect(video.body?.error?.field).toBe("prompt");
    expect((await call("GET", "/api/v1/files")).body).toEqual({ items: [] });
  });

  it.each([
    ["GET", "/api/v1/file/a%00b"],
    ["DELETE", "/api/v1/file/a%00b"],
    ["GET", "/api/v1/project/a%00b"],
    ["POST", "/api/v1/task/a%00b/cancel"],
  ])("answers a NUL byte in the id of %s %s with 400 naming id", async (method, path) => {
    const answer = await call(method, path);
    expect(answer.status).toBe(400);
    expect(answer.body?.error).toMatchObject({ code: "invalid_request", field: "id" });
  });

  it.each([
    ["an out-of-range time", "99999999999999999:abc"],
    ["a NUL in the id", "1700000000000:a\u0000b"],
    ["no id", "1700000000000:"],
  ])("answers a list cursor with %s with 400 naming cursor", async (_what, cursor) => {
    const encoded = Buffer.from(cursor, "utf8").toString("base64url");
    const answer = await call("GET", `/api/v1/files?cursor=${encoded}`);
    expect(answer.status).toBe(400);
    expect(answer.body?.error).toMatchObject({ code: "invalid_cursor", field: "cursor" });
  });

  it("never answers 5xx to arbitrary strings in any path, query or body field", async () => {
    const paths: Array<(id: string) => [string, string]> = [
      (id) => ["GET", `/api/v1/file/${id}`],
      (id) => ["DELETE", `/api/v1/file/${id}`],
      (id) => ["GET", `/api/v1/project/${id}`],
      (id) => ["POST", `/api/v1/task/${id}/cancel`],
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), pathSegment, async (path, id) => {
        const [method, url] = path(id);
        const answer = await call(method, url);
        expect(answer.status, `${method} ${url}`).toBeLessThan(500);
      }),
      { numRuns: 150 },
    );

    const queryValue = fc.oneof(
      text.map((value) => percentEncoded(utf8(value))),
      fc
        .tuple(fc.oneof(fc.bigInt(), fc.double().map(String)), text)
        .map(([time, id]) => Buffer.from(`${time}:${id}`, "utf8").toString("base64url")),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("type", "limit", "cursor", "sort"),
        queryValue,
        async (name, value) => {
          const answer = await call("GET", `/api/v1/files?${name}=${value}`);
          expect(answer.status, `?${name}=${value}`).toBeLessThan(500);
        },
      ),
      { numRuns: 150 },
    );

    const fields = [
      "prompt",
      "style",
      "resolution",
      "seed",
      "projectId",
      "durationS",
      "frameRate",
      "imageFileId",
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("image", "video"),
        fc.constantFrom(...fields),
        text,
        async (kind, field, value) => {
          const body = { prompt: "a quiet harbour", [field]: value };
          const answer = await call("POST", `/api/v1/generation/${kind}`, body);
          expect(answer.status, JSON.stringify(body)).toBeLessThan(500);
          if (answer.status === 202) {
            const { taskId } = answer.body as unknown as { taskId: string };
            await call("POST", `/api/v1/task/${taskId}/cancel`);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("keeps prompt text out of the log", () => {
    expect(server.output()).not.toContain("secret prompt text");
    expect(server.output()).not.toContain('"level":50');
  });
});
