/**
 * Slow clients, against the server as `npm start` runs it: a head or a body trickled a byte at
 * a time is cut at the request timeout (408 or closed) on every path, the event streams' included,
 * and a head with bare LF line endings on the events path is refused at once.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerProcess, startServerProcess } from "./support/process.ts";

const dataDirs: string[] = [];
const servers: ServerProcess[] = [];
async function start(env: Record<string, string> = {}): Promise<ServerProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), "herald-timeouts-"));
  dataDirs.push(dataDir);
  const server = await startServerProcess({ DATA_DIR: dataDir, RENDER_PACE: "0", ...env });
  servers.push(server);
  return server;
}
afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

interface Cut {
  /** What the server sent before closing. */
  answer: string;
  /** From the first byte sent to the close. */
  elapsedMs: number;
}

/**
 * Sends `start` at once, then one byte of `trickle` (repeated forever) every `everyMs`, and
 * resolves when the server closes the connection.
 */
function trickle(port: number, start: string, trickled: string, everyMs: number): Promise<Cut> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const began = Date.now();
    let answer = "";
    let at = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.on("connect", () => {
      socket.write(start);
      timer = setInterval(() => {
        if (!socket.destroyed) socket.write(trickled.charAt(at++ % trickled.length));
      }, everyMs);
    });
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1");
    });
    // The server may reset a connection it cuts while bytes are still coming.
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      clearInterval(timer);
      resolve({ answer, elapsedMs: Date.now() - began });
    });
    socket.on("timeout", () => reject(new Error("no socket timeout is set")));
  });
}

const SLOW_HEADER = "x-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";

/** A 408 or a plain close: both end the attack. */
function expectCut(cut: Cut): void {
  if (cut.answer !== "") expect(cut.answer).toMatch(/^HTTP\/1\.1 408 /);
}

describe("with a shortened timeout (REQUEST_TIMEOUT_MS=1500)", () => {
  it("cuts a head trickled to the events path, to the API, and a trickled body", async () => {
    const server = await start({ REQUEST_TIMEOUT_MS: "1500" });
    const [events, api, body] = await Promise.all([
      trickle(
        server.port,
        "GET /api/v1/events/project.x HTTP/1.1\r\nhost: a\r\n",
        SLOW_HEADER,
        100,
      ),
      trickle(server.port, "GET /api/v1/session HTTP/1.1\r\nhost: a\r\n", SLOW_HEADER, 100),
      trickle(
        server.port,
        "POST /api/v1/generation/image HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n",
        '{"prompt":"aaaaaaaaaa',
        100,
      ),
    ]);
    for (const cut of [events, api, body]) expectCut(cut);
    expect(events.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(events.answer).toContain('"code":"request_timeout"');
    expect(body.answer).toMatch(/^HTTP\/1\.1 408 /);
    // The server still answers everyone else.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("answers a head with bare LF line endings on the events path with 400 at once", async () => {
    const server = await start({ REQUEST_TIMEOUT_MS: "60000" });
    const cut = await trickle(
      server.port,
      "GET /api/v1/events/project.x HTTP/1.1\nhost: a\n\n",
      // Nothing more: the answer must not wait for the timeout.
      "",
      60_000,
    );
    expect(cut.answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(cut.answer).toContain('"code":"invalid_request"');
    expect(cut.elapsedMs).toBeLessThan(30_000);
  });
});

describe("at the default timeout", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await start();
  }, 60_000);

  it("cuts a head trickled one byte a second to the events path within 65 s", async () => {
    const cut = await trickle(
      server.port,
      "GET /api/v1/events/project.x HTTP/1.1\r\nhost: a\r\n",
      SLOW_HEADER,
      1000,
    );
    expectCut(cut);
    expect(cut.elapsedMs).toBeLessThan(65_000);
  }, 75_000);
});
