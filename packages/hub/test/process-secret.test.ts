/**
 * `createJwtAuth()` with no secret: one per process, whatever the number of copies of the module
 * (Next.js evaluates the hub once per route bundle), with one warning; none at all in production.
 */
import { afterEach, beforeEach, expect, it, vi } from "vitest";

type AuthModule = typeof import("../src/auth.ts");

/** A fresh copy of the module, as another route bundle would evaluate it. */
async function freshAuthModule(): Promise<AuthModule> {
  vi.resetModules();
  return import("../src/auth.ts");
}

const HOLDER = Symbol.for("@herald/hub.processJwtSecret");

beforeEach(() => {
  // A new process, as far as the secret goes: the key documented as where it is kept.
  delete (globalThis as Record<symbol, unknown>)[HOLDER];
  vi.stubEnv("HERALD_JWT_SECRET", undefined);
  vi.stubEnv("NODE_ENV", "development");
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

it("shares one secret across copies of the module: a token one signs, the other accepts", async () => {
  const first = await freshAuthModule();
  const second = await freshAuthModule();
  expect(second.createJwtAuth).not.toBe(first.createJwtAuth);
  const token = await first.createJwtAuth().sign({ sub: "u1", channels: ["project.*"] });
  await expect(second.createJwtAuth().authenticate(token)).resolves.toMatchObject({
    subject: "u1",
    channels: ["project.*"],
  });
});

it("warns once per process that the secret is made up, saying what to set", async () => {
  const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
  (await freshAuthModule()).createJwtAuth();
  (await freshAuthModule()).createJwtAuth();
  (await freshAuthModule()).createJwtAuth();
  expect(warn).toHaveBeenCalledTimes(1);
  expect(warn.mock.calls[0]?.[0]).toMatch(/HERALD_JWT_SECRET is not set/);
  expect(warn.mock.calls[0]?.[1]).toEqual({ code: "HERALD_JWT_SECRET_UNSET" });
});

it("does not share a made-up secret with an auth given its own", async () => {
  vi.spyOn(process, "emitWarning").mockImplementation(() => {});
  const { createJwtAuth } = await freshAuthModule();
  const token = await createJwtAuth().sign({ sub: "u1" });
  const own = createJwtAuth({ secret: "s".repeat(32) });
  await expect(own.authenticate(token)).rejects.toMatchObject({ code: "unauthorized" });
});

it("refuses to start in production without HERALD_JWT_SECRET, saying so", async () => {
  vi.stubEnv("NODE_ENV", "production");
  const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
  const { createJwtAuth } = await freshAuthModule();
  expect(() => createJwtAuth()).toThrow(/set HERALD_JWT_SECRET/);
  expect(warn).not.toHaveBeenCalled();
  vi.stubEnv("HERALD_JWT_SECRET", "p".repeat(32));
  const auth = createJwtAuth();
  await expect(auth.authenticate(await auth.sign({ sub: "u1" }))).resolves.toMatchObject({
    subject: "u1",
  });
  expect(createJwtAuth({ secret: "q".repeat(32) })).toBeDefined();
});
