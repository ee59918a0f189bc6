/**
 * examples/nextjs, a Next.js App Router app that installs Herald's four packages from their
 * packed tarballs, as a user's app would from npm: `next build` (type check and prerendering of
 * `/` included), `next start`, then a generation followed by a raw `curl -N` stream and by the
 * page in Chromium through `useChannel` and the WebSocket-era `useImageSSE`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, type TestBrowser } from "./support/browser.ts";
import { openCurlStream } from "./support/curl-stream.ts";
import {
  EXAMPLE,
  type ExampleServer,
  installAndBuildExample,
  startExample,
} from "./support/nextjs-example.ts";

interface Generation {
  projectId: string;
  taskId: string;
  fileId: string;
}

/** What the example's fake generation publishes to a project, in order (PROTOCOL.md section 4). */
const GENERATION_EVENTS = [
  "task:pending",
  "task:in_progress",
  ...Array.from({ length: 8 }, () => "render_progress"),
  "render_result",
  "file:completed",
  "task:completed",
];

let build = "";
let server: ExampleServer;
let chrome: TestBrowser;

beforeAll(async () => {
  build = await installAndBuildExample();
  [server, chrome] = await Promise.all([startExample(), launchChromium()]);
}, 360_000);

afterAll(async () => {
  await chrome?.close();
  await server?.close();
}, 30_000);

type ShownProgress = Window & { shownProgress?: Record<string, number[]> };

/**
 * Records every value each section's progress bar shows, keyed by the section's label. Runs in
 * the page (serialised by Playwright): no imports, no closures over test code.
 */
function recordShownProgress(): void {
  const shown: Record<string, number[]> = {};
  (window as ShownProgress).shownProgress = shown;
  const record = (bar: HTMLProgressElement) => {
    const name = bar.closest("section")?.getAttribute("aria-label");
    if (!name) return;
    shown[name] ??= [];
    const values = shown[name];
    if (values.at(-1) !== bar.value) values.push(bar.value);
  };
  new MutationObserver((mutations) => {
    for (const mutation of mutations) {
      if (mutation.target instanceof HTMLProgressElement) record(mutation.target);
      for (const node of mutation.addedNodes) {
        if (node instanceof Element) node.querySelectorAll("progress").forEach(record);
      }
    }
  }).observe(document, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ["value"],
  });
}

/** Signs in as the demo's token route does: the `herald_token` cookie and the visitor's project. */
async function signIn(): Promise<{ cookie: string; projectId: string }> {
  const response = await fetch(`${server.url}/api/token`, { method: "POST" });
  expect(response.status).toBe(200);
  const token = /(?:^|;\s*)herald_token=([^;]+)/.exec(response.headers.get("set-cookie") ?? "");
  if (!token?.[1])
    throw new Error(`no herald_token cookie in ${response.headers.get("set-cookie")}`);
  const { projectId } = (await response.json()) as { projectId: string };
  return { cookie: `herald_token=${token[1]}`, projectId };
}

function kindOf(message: Record<string, unknown>): string {
  const object = message.object as Record<string, unknown> | undefined;
  return message.type === "task" || message.type === "file"
    ? `${message.type}:${String(object?.status)}`
    : String(message.type);
}

describe("examples/nextjs, built from the packed packages", () => {
  it("builds with next build: type checked, / prerendered, the API routes dynamic", () => {
    expect(build).toMatch(/Finished TypeScript/);
    expect(build).toMatch(/○ \/\s/);
    expect(build).toMatch(/ƒ \/api\/v1\/events\/\[\[\.\.\.path\]\]/);
    // The tarballs, not the workspaces: installed from .herald-packages, with compiled files.
    expect(existsSync(join(EXAMPLE, "node_modules/@herald/react/src"))).toBe(false);
    expect(existsSync(join(EXAMPLE, ".next/server/app/index.html"))).toBe(true);
  });

  it("delivers a generation's events to curl -N as each is published, the first within a second", async ({
    annotate,
  }) => {
    const { cookie, projectId } = await signIn();
    const curl = openCurlStream(`${server.url}/api/v1/events/project.${projectId}`, { cookie });
    try {
      await curl.until((s) => s.comments.includes("ok"), "the stream's opening comment");
      const response = await fetch(`${server.url}/api/generate`, {
        method: "POST",
        headers: { cookie },
      });
      expect(response.status).toBe(202);
      const generation = (await response.json()) as Generation;
      expect(generation.projectId).toBe(projectId);

      await curl.until(
        (s) => s.events.some((e) => kindOf(e.message) === "task:completed"),
        "task(completed)",
      );
      const events = curl.events;
      expect(events.map((e) => kindOf(e.message))).toEqual(GENERATION_EVENTS);
      for (const { message } of events) {
        expect(message).toMatchObject({ channel: `project.${projectId}`, projectId });
      }
      expect(events[10]?.message.object).toEqual({
        taskId: generation.taskId,
        fileId: generation.fileId,
        url: `/result.svg?file=${generation.fileId}`,
        contentType: "image/svg+xml",
      });

      // `ts` is the hub's publish time, on this machine's clock.
      const latencies = events.map((e) => e.arrivedAt - Number(e.message.ts));
      await annotate(`arrival after publishing, ms: ${latencies.join(", ")}`);
      expect(latencies[0]).toBeLessThan(1000);
      // As they happen: each progress event was read before the next one was published.
      const progress = events.filter((e) => e.message.type === "render_progress");
      for (let i = 0; i + 1 < progress.length; i++) {
        expect(progress[i]?.arrivedAt).toBeLessThan(Number(progress[i + 1]?.message.ts));
      }
    } finally {
      await curl.close();
    }
  });

  it("shows the generation on the page through useChannel and useImageSSE, to the result", async () => {
    const context = await chrome.browser.newContext({ baseURL: server.url });
    try {
      await context.addInitScript(recordShownProgress);
      const page = await context.newPage();
      const problems: string[] = [];
      page.on("pageerror", (error) => problems.push(error.message));
      page.on("console", (message) => {
        if (message.type() === "error")
          problems.push(`${message.text()} (${message.location().url})`);
      });
      await page.goto("/");
      const button = page.getByRole("button", { name: "Generate" });
      await button.and(page.locator(":enabled")).waitFor(); // signed in

      const started = page.waitForResponse((r) => r.url().endsWith("/api/generate"));
      await button.click();
      const generation = (await (await started).json()) as Generation;

      const followers = ["useChannel", "useImageSSE"].map((name) =>
        page.getByRole("region", { name }),
      );
      for (const follower of followers) {
        const image = follower.getByRole("img", { name: "Result" });
        await image.waitFor();
        expect(await image.getAttribute("src")).toBe(`/result.svg?file=${generation.fileId}`);
        const width = await image.evaluate(async (img: HTMLImageElement) => {
          await img.decode();
          return img.naturalWidth;
        });
        expect(width).toBe(512);
        expect(
          await follower.locator("progress").evaluate((bar: HTMLProgressElement) => bar.value),
        ).toBe(1);
      }
      await followers[1]?.getByText("Task: completed").waitFor();

      // Each bar showed the progress as it came, rising through several values before the end.
      const shown = await page.evaluate(() => (window as ShownProgress).shownProgress);
      for (const name of ["useChannel", "useImageSSE"]) {
        const values = shown?.[name] ?? [];
        expect(values, `${name}: ${values.join(", ")}`).toEqual([...values].sort((a, b) => a - b));
        expect(
          values.filter((v) => v > 0 && v < 1).length,
          `${name}: ${values.join(", ")}`,
        ).toBeGreaterThanOrEqual(3);
        expect(values.at(-1)).toBe(1);
      }
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
