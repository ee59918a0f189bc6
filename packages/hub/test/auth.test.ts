/**
 * Who may do what (PROTOCOL.md section 7) and how a refusal looks (section 8), over real HTTP
 * against a real hub: tokens by cookie, header and query; forged, expired and incomplete
 * tokens; channel patterns for subscribing and publishing.
 */

import { messagesOf, openRawStream, type RawStream } from "@herald/test-support/raw-sse";
import { startTestHub, TEST_SECRET, type TestHub } from "@herald/test-support/server";
import { SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createJwtAuth } from "../src/index.ts";

const OTHER_SECRET = "another-secret-that-is-long-enough-for-hs256";

let server: TestHub;
const openStreams: RawStream[] = [];
beforeAll(async () => {
  server = await startTestHub();
});
afterEach(() => {
  for (const stream of openStreams.splice(0)) stream.close();
});
afterAll(async () => {
  await server.close();
});

/** Every token minted in this file, so refusals can be checked for leaking any of them. */
const minted: string[] = [];
async function sign(claims: Parameters<TestHub["sign"]>[0]): Promise<string> {
  const token = await server.sign(claims);
  minted.push(token);
  return token;
}

/** Signs with jose directly, for tokens the hub's own `sign` would never make. */
async function signRaw(
  payload: Record<string, unknown>,
  options: { sub?: string; exp?: number; secret?: string; alg?: string } = {},
): Promise<string> {
  let jwt = new SignJWT(payload).setProtectedHeader({ alg: options.alg ?? "HS256", typ: "JWT" });
  if (options.sub !== undefined) jwt = jwt.setSubject(options.sub);
  if (options.exp !== undefined) jwt = jwt.setExpirationTime(options.exp);
  const token = await jwt.sign(new TextEncoder().encode(options.secret ?? TEST_SECRET));
  minted.push(token);
  return token;
}

const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

interface Refusal {
  status: number;
  code: string;
  message: string;
  text: string;
}

/** Reads an error answer and checks what every refusal must be: JSON of the section 8 shape. */
async function refusal(response: Response): Promise<Refusal> {
  const text = await response.text();
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(typeof body.error?.code).toBe("string");
  expect(typeof body.error?.message).toBe("string");
  expect(text).not.toMatch(/\n\s*at /);
  expect(text).not.toMatch(/\bat .+:\d+:\d+/);
  for (const token of [...minted, server.token]) expect(text).not.toContain(token);
  return {
    status: response.status,
    code: body.error?.code as string,
    message: body.error?.message as string,
    text,
  };
}

function subscribe(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, { headers: { accept: "text/event-stream", ...headers } });
}

async function openStream(path: string, headers: Record<string, string> = {}): Promise<RawStream> {
  const stream = await openRawStream(`${server.url}${path}`, headers);
  openStreams.push(stream);
  return stream;
}

function publish(channel: string, message: unknown, token?: string): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return fetch(`${server.url}/api/v1/events/${channel}`, {
    method: "POST",
    headers,
    body: JSON.stringify(message),
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("subscribing without a valid token", () => {
  it("refuses a request with no token with 401 unauthorized", async () => {
    const answer = await refusal(await subscribe("/api/v1/events/project.p1"));
    expect(answer).toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("refuses a token signed with another secret with 401", async () => {
    const forged = await createJwtAuth({ secret: OTHER_SECRET }).sign({
      sub: "mallory",
      channels: ["project.*"],
    });
    minted.push(forged);
    const answer = await refusal(await subscribe("/api/v1/events/project.p1", bearer(forged)));
    expect(answer).toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("refuses a token whose signature was tampered with with 401", async () => {
    const token = await sign({ sub: "u1", channels: ["project.*"] });
    const [header, payload, signature] = token.split(".") as [string, string, string];
    // The first character carries six whole bits of the signature (the last may carry padding).
    const flipped = `${signature.startsWith("A") ? "B" : "A"}${signature.slice(1)}`;
    const tampered = `${header}.${payload}.${flipped}`;
    minted.push(tampered);
    const answer = await refusal(await subscribe("/api/v1/events/project.p1", bearer(tampered)));
    expect(answer).toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("refuses a token signed with the right secret but another algorithm with 401", async () => {
    const hs512 = await signRaw(
      { channels: ["project.*"] },
      { sub: "u1", exp: inAnHour(), alg: "HS512" },
    );
    const answer = await refusal(await subscribe("/api/v1/events/project.p1", bearer(hs512)));
    expect(answer).toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("refuses an expired token with 401", async () => {
    const expired = await sign({ sub: "u1", channels: ["project.*"], expiresInS: -60 });
    const answer = await refusal(await subscribe("/api/v1/events/project.p1", bearer(expired)));
    expect(answer).toMatchObject({ status: 401, code: "unauthorized" });
    expect(answer.message).toMatch(/expired/);
  });

  it("refuses a token without sub with 401", async () => {
    const noSub = await signRaw({ channels: ["project.*"] }, { exp: inAnHour() });
    const answer = await refusal(await subscribe("/api/v1/events/project.p1", bearer(noSub)));
    expect(answer).toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("refuses a token without exp with 401", async () => {
    const noExp = await signRaw({ channels: ["project.*"] }, { sub: "u1" });
    const answer = await refusal(await subscribe("/api/v1/events/project.p1", bearer(noExp)));
    expect(answer).toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("refuses a token that is not a JWT at all with 401", async () => {
    const answer = await refusal(
      await subscribe("/api/v1/events/project.p1", bearer("not-a-jwt.at.all")),
    );
    expect(answer).toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("accepts the same claims when the token is complete and signed by this server", async () => {
    // The control for the refusals above: the only difference there is the defect.
    const good = await signRaw({ channels: ["project.*"] }, { sub: "u1", exp: inAnHour() });
    const stream = await openStream("/api/v1/events/project.p1", bearer(good));
    expect(stream.status).toBe(200);
  });
});

describe("channels a token may subscribe to", () => {
  it("refuses a channel outside the token's channels with 403 forbidden", async () => {
    const token = await sign({ sub: "u1", channels: ["user.u1"] });
    const answer = await refusal(await subscribe("/api/v1/events/user.u2", bearer(token)));
    expect(answer).toMatchObject({ status: 403, code: "forbidden" });
  });

  it("refuses a multi-channel stream where one channel is outside the token with 403", async () => {
    const token = await sign({ sub: "u1", channels: ["user.u1", "project.p1"] });
    const answer = await refusal(
      await subscribe(
        "/api/v1/events?channel=user.u1&channel=project.p1&channel=file.f9",
        bearer(token),
      ),
    );
    expect(answer).toMatchObject({ status: 403, code: "forbidden" });
    const allowed = await openStream(
      "/api/v1/events?channel=user.u1&channel=project.p1",
      bearer(token),
    );
    expect(allowed.status).toBe(200);
  });

  it("lets project.* admit project.x but not file.x", async () => {
    const token = await sign({ sub: "u1", channels: ["project.*"] });
    const admitted = await openStream("/api/v1/events/project.x", bearer(token));
    expect(admitted.status).toBe(200);
    const refused = await refusal(await subscribe("/api/v1/events/file.x", bearer(token)));
    expect(refused).toMatchObject({ status: 403, code: "forbidden" });
  });

  it("does not let a token's publish claim stand in for its channels claim", async () => {
    const token = await sign({ sub: "u1", channels: [], publish: ["project.*"] });
    const answer = await refusal(await subscribe("/api/v1/events/project.p1", bearer(token)));
    expect(answer).toMatchObject({ status: 403, code: "forbidden" });
  });
});

describe("where the token may be sent", () => {
  async function receivesAnEvent(path: string, headers: Record<string, string>, channel: string) {
    const stream = await openStream(path, headers);
    expect(stream.status).toBe(200);
    await stream.until((s) => s.comments.includes("ok"), "the opening comment");
    const id = await server.publishHttp(channel, { type: "data", data: { via: path } });
    await stream.until((s) => s.events.length === 1, "the published event");
    expect(stream.events[0]?.id).toBe(id);
    expect(messagesOf(stream)[0]?.channel).toBe(channel);
  }

  it("accepts the token from the herald_token cookie", async () => {
    const token = await sign({ sub: "u1", channels: ["user.cookie"] });
    await receivesAnEvent(
      "/api/v1/events/user.cookie",
      { cookie: `theme=dark; herald_token=${token}; other=1` },
      "user.cookie",
    );
  });

  it("does not take a token from a cookie of another name", async () => {
    const token = await sign({ sub: "u1", channels: ["user.cookie"] });
    const answer = await refusal(
      await subscribe("/api/v1/events/user.cookie", { cookie: `token=${token}` }),
    );
    expect(answer).toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("accepts the token from an Authorization: Bearer header", async () => {
    const token = await sign({ sub: "u1", channels: ["user.header"] });
    await receivesAnEvent("/api/v1/events/user.header", bearer(token), "user.header");
  });

  it("accepts the token from the token query parameter", async () => {
    const token = await sign({ sub: "u1", channels: ["user.query"] });
    await receivesAnEvent(`/api/v1/events/user.query?token=${token}`, {}, "user.query");
  });
});

describe("publishing", () => {
  it("refuses a publish without a token with 401", async () => {
    const answer = await refusal(await publish("project.p1", { type: "data" }));
    expect(answer).toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("refuses a token with no publish claim with 403, even one that may subscribe", async () => {
    const token = await sign({ sub: "reader", channels: ["project.*"] });
    const answer = await refusal(await publish("project.p1", { type: "data" }, token));
    expect(answer).toMatchObject({ status: 403, code: "forbidden" });
  });

  it("refuses a publish claim that does not cover the channel with 403", async () => {
    const token = await sign({ sub: "writer", publish: ["file.*", "project.p2"] });
    const answer = await refusal(await publish("project.p1", { type: "data" }, token));
    expect(answer).toMatchObject({ status: 403, code: "forbidden" });
  });

  it("accepts a publish claim that covers the channel with 201 and the id subscribers see", async () => {
    const stream = await openStream("/api/v1/events/project.pub", bearer(server.token));
    await stream.until((s) => s.comments.includes("ok"), "the opening comment");
    const token = await sign({ sub: "writer", publish: ["project.*"] });
    const response = await publish("project.pub", { type: "data", data: { n: 1 } }, token);
    expect(response.status).toBe(201);
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(["id"]);
    expect(typeof body.id).toBe("string");
    await stream.until((s) => s.events.length === 1, "the published event");
    expect(stream.events[0]?.id).toBe(body.id);
  });

  it("refuses an expired publisher token with 401", async () => {
    const token = await sign({ sub: "writer", publish: ["project.*"], expiresInS: -1 });
    const answer = await refusal(await publish("project.p1", { type: "data" }, token));
    expect(answer).toMatchObject({ status: 401, code: "unauthorized" });
  });
});

describe("createJwtAuth", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("refuses a secret shorter than 32 characters", () => {
    expect(() => createJwtAuth({ secret: "x".repeat(31) })).toThrow(/at least 32 characters/);
    expect(() => createJwtAuth({ secret: "x".repeat(32) })).not.toThrow();
  });

  it("refuses a HERALD_JWT_SECRET shorter than 32 characters", () => {
    vi.stubEnv("HERALD_JWT_SECRET", "too-short");
    expect(() => createJwtAuth()).toThrow(/at least 32 characters/);
  });

  it("shares tokens between instances given the same HERALD_JWT_SECRET", async () => {
    vi.stubEnv("HERALD_JWT_SECRET", OTHER_SECRET);
    const a = createJwtAuth();
    const b = createJwtAuth();
    const principal = await b.authenticate(await a.sign({ sub: "u1", channels: ["user.u1"] }));
    expect(principal).toEqual({ subject: "u1", channels: ["user.u1"], publish: [] });
  });

  it("keeps a verified token's answer until the token expires, and refuses it after", async () => {
    const auth = createJwtAuth({ secret: OTHER_SECRET });
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const token = await auth.sign({ sub: "u1", publish: ["file.*"], expiresInS: 60 });
      const first = await auth.authenticate(token);
      expect(await auth.authenticate(token)).toEqual(first);
      vi.setSystemTime(Date.now() + 61_000);
      await expect(auth.authenticate(token)).rejects.toMatchObject({
        code: "unauthorized",
        message: expect.stringMatching(/expired/),
      });
    } finally {
      vi.useRealTimers();
    }
  });

  it("never takes a token another secret signed for one it verified", async () => {
    const auth = createJwtAuth({ secret: OTHER_SECRET });
    const good = await auth.sign({ sub: "u1", channels: ["user.u1"] });
    await auth.authenticate(good);
    const forged = await signRaw({ channels: ["user.u1"] }, { sub: "u1", exp: inAnHour() });
    await expect(auth.authenticate(forged)).rejects.toMatchObject({ code: "unauthorized" });
  });
});
