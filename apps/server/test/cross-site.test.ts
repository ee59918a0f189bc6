/**
 * Cross-site requests and the protective headers, against the server as `npm start` runs it: a
 * page of another origin (even on the same site, with the victim's cookie) changes nothing.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openRawStream } from "@herald/test-support/raw-sse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerProcess, startServerProcess } from "./support/process.ts";

const dataDirs: string[] = [];
const servers: ServerProcess[] = [];
async function start(env: Record<string, string> = {}): Promise<ServerProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), "herald-cross-site-"));
  dataDirs.push(dataDir);
  // Realistic pace and one worker: a render runs for seconds, long enough to be attacked.
  const server = await startServerProcess({ DATA_DIR: dataDir, WORKERS: "1", ...env });
  servers.push(server);
  return server;
}

let server: ServerProcess;
beforeAll(async () => {
  server = await start({ RENDER_PACE: "1" });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A browser's session: its cookies, as the victim's browser would send them. */
async function browserSession(url: string): Promise<string> {
  const response = await fetch(`${url}/api/v1/session`);
  return response.headers
    .getSetCookie()
    .map((cookie) => cookie.split(";")[0])
    .join("; ");
}

async function startRender(url: string, cookie: string) {
  const response = await fetch(`${url}/api/v1/generation/image`, {
    method: "POST",
    headers: { cookie, "content-type": "application/json", origin: url },
    body: JSON.stringify({ prompt: "a long sunrise", resolution: "1024x1024" }),
  });
  expect(response.status).toBe(202);
  return (await response.json()) as { taskId: string; fileId: string };
}

async function fileStatus(url: string, cookie: string, fileId: string): Promise<number | string> {
  const response = await fetch(`${url}/api/v1/file/${fileId}`, { headers: { cookie } });
  if (response.status !== 200) return response.status;
  return ((await response.json()) as { status: string }).status;
}

describe("cross-site requests", () => {
  it.each([
    ["another origin on the same site", { origin: "http://evil.127.0.0.1.nip.io" }],
    ["another site", { origin: "https://attacker.example" }],
    ["an opaque origin", { origin: "null" }],
    ["Sec-Fetch-Site: same-site", { "sec-fetch-site": "same-site" }],
    ["Sec-Fetch-Site: cross-site", { "sec-fetch-site": "cross-site" }],
  ])(
    "refuses a cancel and a delete from %s with 403, and the render runs on",
    async (_what, headers) => {
      const cookie = await browserSession(server.url);
      const { taskId, fileId } = await startRender(server.url, cookie);
      const cancel = await fetch(`${server.url}/api/v1/task/${taskId}/cancel`, {
        method: "POST",
        headers: { cookie, ...headers },
      });
      expect(cancel.status).toBe(403);
      expect(((await cancel.json()) as { error: { code: string } }).error.code).toBe("forbidden");
      const remove = await fetch(`${server.url}/api/v1/file/${fileId}`, {
        method: "DELETE",
        headers: { cookie, ...headers },
      });
      expect(remove.status).toBe(403);
      expect(["pending", "in_progress"]).toContain(await fileStatus(server.url, cookie, fileId));

      // The page's own origin, and a client with neither header, still may.
      const own = await fetch(`${server.url}/api/v1/task/${taskId}/cancel`, {
        method: "POST",
        headers: { cookie, origin: server.url, "sec-fetch-site": "same-origin" },
      });
      expect(own.status).toBe(200);
      const plain = await fetch(`${server.url}/api/v1/file/${fileId}`, {
        method: "DELETE",
        headers: { cookie },
      });
      expect(plain.status).toBe(204);
    },
  );

  it("refuses a cross-origin publish on the hub's own POST route too", async () => {
    const response = await fetch(`${server.url}/api/v1/events/project.x`, {
      method: "POST",
      headers: { origin: "https://attacker.example", "content-type": "application/json" },
      body: "{}",
    });
    expect(response.status).toBe(403);
  });
});

describe("protective headers", () => {
  it("puts a strict CSP that forbids framing and a Referrer-Policy on pages", async () => {
    const page = await fetch(`${server.url}/`);
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
  });

  it("answers every /api/v1 call with nosniff, errors and event streams included", async () => {
    const session = await fetch(`${server.url}/api/v1/session`);
    expect(session.headers.get("cache-control")).toBe("no-store");
    const answers = [
      session,
      await fetch(`${server.url}/api/v1/nothing-here`),
      await fetch(`${server.url}/api/v1/files?limit=0`),
      await fetch(`${server.url}/api/v1/file/x`),
      // Refused by the hub on a fresh connection, before node:http or Fastify see it.
      await fetch(`${server.url}/api/v1/events/project.x`),
      await fetch(`${server.url}/api/v1/events/bad..name`),
    ];
    for (const answer of answers) {
      expect(answer.headers.get("x-content-type-options"), answer.url).toBe("nosniff");
    }
    const { userId } = (await session.json()) as { userId: string };
    const cookie = session.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    const stream = await openRawStream(`${server.url}/api/v1/events/user.${userId}`, { cookie });
    expect(stream.status).toBe(200);
    expect(stream.headers["x-content-type-options"]).toBe("nosniff");
    stream.close();
  });

  it("marks cookies Secure when the request came over HTTPS through a trusted proxy, only then", async () => {
    const secureOf = async (url: string, headers: Record<string, string>) => {
      const cookies = (await fetch(`${url}/api/v1/session`, { headers })).headers.getSetCookie();
      expect(cookies.length).toBe(2);
      return cookies.map((cookie) => /;\s*Secure/i.test(cookie));
    };
    const behindProxy = await start({ RENDER_PACE: "0", TRUST_PROXY: "127.0.0.1" });
    expect(await secureOf(behindProxy.url, { "x-forwarded-proto": "https" })).toEqual([true, true]);
    expect(await secureOf(behindProxy.url, {})).toEqual([false, false]);
    // Without TRUST_PROXY the header is anyone's to send, and means nothing.
    expect(await secureOf(server.url, { "x-forwarded-proto": "https" })).toEqual([false, false]);
  });
});
