/** What every FileStorage promises; run against each implementation (local folder now). */
import { describe, expect, it } from "vitest";
import type { FileStorage } from "../../src/storage.ts";

async function readAll(stream: Iterable<unknown> | AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function describeFileStorageContract(name: string, open: () => Promise<FileStorage>): void {
  describe(`${name} file storage`, () => {
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, n) => n % 251));

    it("keeps bytes under a key and gives them back whole and by range", async () => {
      const storage = await open();
      await storage.put("f1.png", bytes);
      const stored = await storage.get("f1.png");
      expect(stored?.size).toBe(1000);
      expect(await readAll(stored?.open() ?? [])).toEqual(bytes);
      expect(await readAll(stored?.open({ start: 10, end: 19 }) ?? [])).toEqual(
        bytes.subarray(10, 20),
      );
    });

    it("answers undefined for a key never stored, and after delete", async () => {
      const storage = await open();
      expect(await storage.get("missing.png")).toBeUndefined();
      await storage.put("gone.mp4", bytes);
      await storage.delete("gone.mp4");
      expect(await storage.get("gone.mp4")).toBeUndefined();
      await storage.delete("gone.mp4");
    });

    it("overwrites a key, so a task run twice leaves one file", async () => {
      const storage = await open();
      await storage.put("again.png", bytes);
      await storage.put("again.png", bytes.subarray(0, 10));
      expect((await storage.get("again.png"))?.size).toBe(10);
    });

    it("refuses keys that could leave its place", async () => {
      const storage = await open();
      for (const key of ["../escape.png", "a/b.png", "", ".hidden"]) {
        await expect(storage.put(key, bytes)).rejects.toThrow(/storage key/);
      }
    });
  });
}
