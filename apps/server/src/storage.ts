/**
 * Generated files' bytes, behind an interface that object storage could implement. The local
 * implementation keeps them in a folder (DATA_DIR/files); writes are atomic, and a key names
 * one file's bytes forever, so a render taken up again after a crash overwrites, never doubles.
 */
import { createReadStream, type ReadStream } from "node:fs";
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface StoredFile {
  size: number;
  /** A stream of bytes `start` to `end` inclusive (the whole file by default). */
  open(range?: { start: number; end: number }): ReadStream;
}

export interface FileStorage {
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** `undefined` when nothing is stored under the key. */
  get(key: string): Promise<StoredFile | undefined>;
  delete(key: string): Promise<void>;
}

const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$/;

export async function createLocalStorage(folder: string): Promise<FileStorage> {
  await mkdir(folder, { recursive: true });
  const pathOf = (key: string) => {
    if (!KEY_PATTERN.test(key) || key.includes(".."))
      throw new Error(`"${key}" is not a storage key`);
    return join(folder, key);
  };
  return {
    async put(key, bytes) {
      const path = pathOf(key);
      const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(temporary, bytes);
      await rename(temporary, path);
    },
    async get(key) {
      const path = pathOf(key);
      try {
        const info = await stat(path);
        return { size: info.size, open: (range) => createReadStream(path, range) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw error;
      }
    },
    async delete(key) {
      await rm(pathOf(key), { force: true });
    },
  };
}
