import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { createLocalStorage } from "../../src/storage.ts";
import { describeFileStorageContract } from "./storage-contract.ts";

describeFileStorageContract("local folder", async () =>
  createLocalStorage(await mkdtemp(join(tmpdir(), "herald-files-"))),
);

it("leaves no temporary file behind after a write", async () => {
  const folder = await mkdtemp(join(tmpdir(), "herald-files-"));
  const storage = await createLocalStorage(folder);
  await storage.put("one.png", Buffer.from("x"));
  expect(await readdir(folder)).toEqual(["one.png"]);
});
