/**
 * A slow link gets the latest progress, not a backlog (issue 14): run in a network namespace of
 * its own with 4 KiB TCP buffers, since on the host's loopback the kernel alone buffers
 * megabytes before the hub sees an unsent byte. The scenario (server, publisher and readers in
 * one process inside the namespace) is `slow-link/scenario.ts`; this checks what it reports.
 */
import { execFile, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { ReaderReport, ScenarioReport } from "./slow-link/scenario.ts";

const SCENARIO = fileURLToPath(new URL("./slow-link/scenario.ts", import.meta.url));

/** A network namespace needs Linux and the right to make one (root, here and in CI). */
const canUnshare =
  process.platform === "linux" && spawnSync("unshare", ["-n", "true"]).status === 0;

function runScenario(env: Record<string, string>): Promise<ScenarioReport> {
  const setup = [
    "ip link set lo up",
    "sysctl -q -w net.ipv4.tcp_rmem='4096 4096 4096' net.ipv4.tcp_wmem='4096 4096 4096'",
    `exec "${process.execPath}" --expose-gc --import tsx "${SCENARIO}"`,
  ].join(" && ");
  return new Promise((resolve, reject) => {
    execFile(
      "unshare",
      ["-n", "sh", "-c", setup],
      { env: { ...process.env, ...env }, maxBuffer: 256 * 2 ** 20 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`the scenario failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as ScenarioReport);
      },
    );
  });
}

function progressOf(reader: ReaderReport, taskId: string): number[] {
  return reader.events
    .filter((event) => event.type === "render_progress" && event.taskId === taskId)
    .map((event) => event.progress as number);
}

describe.skipIf(!canUnshare)("a subscriber on a slow link (4 KiB TCP buffers)", () => {
  it("gets every task event, the newest progress and the result within 3 s, and stays connected; a fast one gets everything", async () => {
    const report = await runScenario({ SCENARIO_SECONDS: "30", SCENARIO_SLOW_READERS: "20" });
    const [fast, ...slow] = report.readers;
    const { published } = report;
    const total = published.progressA + published.progressB + published.task + 1;
    const ids = (reader: ReaderReport) => reader.events.map((event) => event.id);

    // The fast reader: every event, in order.
    expect(fast?.events).toHaveLength(total);
    expect(fast?.ended).toBe(false);
    expect(new Set(ids(fast as ReaderReport)).size).toBe(total);

    for (const reader of slow) {
      expect(reader.ended).toBe(false);
      const tasks = reader.events.filter((event) => event.type === "task").map((e) => e.n);
      expect(tasks).toEqual(Array.from({ length: published.task }, (_, n) => n));
      for (const taskId of ["a", "b"]) {
        const progress = progressOf(reader, taskId);
        expect(progress.length).toBeGreaterThan(0);
        // Never backwards, and the newest one is there.
        expect(progress).toEqual([...progress].sort((x, y) => x - y));
        expect(progress.at(-1)).toBe(1);
      }
      const result = reader.events.find((event) => event.type === "render_result");
      expect(result, "the render_result").toBeDefined();
      expect((result?.at as number) - report.resultAt).toBeLessThanOrEqual(3000);
      expect(reader.events.at(-1)?.type).toBe("render_result");
      // Ids only increase: a resume from any of them loses nothing but superseded progress.
      const order = fast ? ids(fast) : [];
      const positions = ids(reader).map((id) => order.indexOf(id));
      expect(positions).toEqual([...positions].sort((x, y) => x - y));
    }
    // Conflation, not a slow-consumer drop, kept the slow readers connected; and the heap
    // stayed flat while 20 of them fell ever further behind the publisher.
    expect(report.metrics.slowConsumersDropped).toBe(0);
    expect(report.metrics.conflated).toBeGreaterThan(0);
    expect(report.heapMiB.beforeResult - report.heapMiB.afterStart).toBeLessThan(8);
  }, 90_000);
});
