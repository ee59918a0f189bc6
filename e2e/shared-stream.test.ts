/**
 * One stream for all tabs, in Chromium against the server as `npm start` runs it: five tabs of
 * one profile hold one event stream between them, a render started in one is live in all, and
 * closing the tab that holds the stream mid-render leaves the others live. Without Web Locks
 * and BroadcastChannel each tab holds its own stream, as before sharing.
 */
import type { BrowserContext, Page, Request } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, type TestBrowser } from "./support/browser.ts";
import { isRising, progressOf, progressReaches, recordProgress } from "./support/progress.ts";
import { buildStudio, type StudioServer, startStudioServer } from "./support/studio-server.ts";

const IMAGE = "/tools/image-generator";
const VIDEO = "/tools/video-generator";

let server: StudioServer;
let chrome: TestBrowser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  await buildStudio();
  // Slower than real time: a 1024x1024 image takes about 14 s, time to close a tab mid-render.
  [server, chrome] = await Promise.all([startStudioServer({ renderPace: 3 }), launchChromium()]);
}, 120_000);

afterEach(async () => {
  // Each test counts the server's streams: the last test's tabs must be gone.
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

afterAll(async () => {
  await chrome?.close();
  await server?.close();
}, 30_000);

/** herald_open_streams as the server's /metrics tells it. */
async function openStreams(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const match = /^herald_open_streams (\d+)/m.exec(text);
  if (!match) throw new Error(`no herald_open_streams in /metrics:\n${text.slice(0, 500)}`);
  return Number(match[1]);
}

/** A profile: one browser context, its tabs sharing cookies, storage and locks. */
async function profile(initScript?: () => void): Promise<BrowserContext> {
  const context = await chrome.browser.newContext({
    baseURL: server.url,
    viewport: { width: 1200, height: 800 },
  });
  contexts.push(context);
  if (initScript) await context.addInitScript(initScript);
  await context.addInitScript(recordProgress);
  return context;
}

/** The event streams each tab holds open, counted from its own requests. */
function streamsByTab(context: BrowserContext): Map<Page, number> {
  const open = new Map<Page, number>();
  const change = (page: Page | undefined, by: number) => {
    if (page) open.set(page, (open.get(page) ?? 0) + by);
  };
  const pageOf = (request: { frame(): { page(): Page } }) => {
    try {
      return request.frame().page();
    } catch {
      return undefined; // a request of a worker, not of a tab
    }
  };
  context.on("request", (request) => {
    if (request.resourceType() === "eventsource") change(pageOf(request), 1);
  });
  const ended = (request: Request) => {
    if (request.resourceType() === "eventsource") change(pageOf(request), -1);
  };
  context.on("requestfinished", ended);
  context.on("requestfailed", ended);
  return open;
}

async function says(page: Page): Promise<string> {
  return (await page.getByTestId("connection-indicator").textContent()) ?? "";
}

async function allSay(pages: readonly Page[], text: string): Promise<boolean> {
  const texts = await Promise.all(pages.map(says));
  return texts.every((shown) => shown.includes(text));
}

/**
 * How long the tabs and the server may take to reach a state: a no-hang limit, not a latency
 * figure. Under the whole suite on 2 cores, opening a tab and its stream has taken over 5 s, and
 * the server over 3 s to see a closed tab's socket go (CI, 2026-12-07).
 */
const SETTLE_MS = 15_000;

/**
 * Asks again until `check` holds, for at most `ms`. The server and the tabs are other
 * processes: asking again is the only way to see their state change.
 */
async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) {
      throw new Error(`not within ${ms} ms: ${what} (${await openStreams()} streams open)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function activityItem(page: Page, prompt: string) {
  return page
    .getByRole("list", { name: "Recent tasks" })
    .getByRole("listitem")
    .filter({ hasText: prompt });
}

async function startImage(page: Page, prompt: string): Promise<string> {
  await page.getByLabel("Resolution").selectOption("1024x1024");
  await page.getByLabel("Prompt").fill(prompt);
  await page.getByRole("button", { name: "Generate" }).click();
  const card = page.getByRole("article", { name: `Image: ${prompt}` });
  await card.waitFor();
  const fileId = await card.getAttribute("data-file-id");
  if (!fileId) throw new Error(`the card of "${prompt}" has no data-file-id`);
  return fileId;
}

/** The render ends in every tab: done in the activity panel, one result with its bar never going back. */
async function completesIn(
  pages: readonly Page[],
  paths: readonly string[],
  prompt: string,
  fileId: string,
) {
  await Promise.all(
    pages.map(async (page, index) => {
      await activityItem(page, prompt).filter({ hasText: "Done" }).waitFor({ timeout: 60_000 });
      expect(await activityItem(page, prompt).count()).toBe(1);
      if (paths[index] !== IMAGE) return;
      const card = page.locator(`article[data-file-id="${fileId}"]`);
      await card.locator("img").waitFor({ timeout: 30_000 });
      expect(await card.count()).toBe(1);
      const shown = await progressOf(page, fileId);
      expect(isRising(shown), `progress went down: ${shown.join(", ")}`).toBe(true);
    }),
  );
}

describe("one stream for all tabs, in Chromium", () => {
  it("five tabs of one profile hold one stream; closing the tab that holds it mid-render leaves the others live", async () => {
    const context = await profile();
    const held = streamsByTab(context);
    const paths = [IMAGE, VIDEO, IMAGE, VIDEO, IMAGE];
    const problems: string[] = [];
    // Opened at once, on a first visit: one browser must still end up with one session.
    const pages = await Promise.all(
      paths.map(async (path) => {
        const page = await context.newPage();
        page.on("pageerror", (error) => problems.push(error.message));
        await page.goto(path);
        return page;
      }),
    );
    await within(SETTLE_MS, "one stream open on the server, every tab Connected", async () => {
      return (await openStreams()) === 1 && (await allSay(pages, "Connected"));
    });
    // And it holds: still one a second later.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await openStreams()).toBe(1);
    expect(await allSay(pages, "Connected")).toBe(true);
    expect((await context.cookies()).filter((c) => c.name === "herald_session")).toHaveLength(1);
    const holders = pages.filter((page) => (held.get(page) ?? 0) > 0);
    expect(holders).toHaveLength(1);
    const leader = holders[0] as Page;

    // A render started in a tab that does not hold the stream.
    const starter = pages.find((page, i) => page !== leader && paths[i] === IMAGE) as Page;
    const prompt = "a harbour at first light";
    const fileId = await startImage(starter, prompt);
    await progressReaches(starter, fileId, 1);
    await Promise.all(
      pages
        .filter((page) => page !== starter)
        .map((page) => activityItem(page, prompt).waitFor({ timeout: SETTLE_MS })),
    );

    // Mid-render, the tab holding the stream goes.
    expect(
      await starter.locator(`article[data-file-id="${fileId}"] [role="progressbar"]`).count(),
    ).toBe(1);
    const leaderIndex = pages.indexOf(leader);
    await leader.close();
    const rest = pages.filter((page) => page !== leader);
    const restPaths = paths.filter((_, i) => i !== leaderIndex);
    // Right after the close the others still show the old stream's state: wait for the new one.
    const holding = () => rest.filter((page) => (held.get(page) ?? 0) > 0);
    await within(
      SETTLE_MS,
      "another tab holds the stream, all Connected, one on the server",
      async () => {
        return (
          holding().length === 1 && (await openStreams()) === 1 && (await allSay(rest, "Connected"))
        );
      },
    );

    await completesIn(rest, restPaths, prompt, fileId);
    expect(await allSay(rest, "Connected")).toBe(true);
    expect(problems).toEqual([]);
  }, 120_000);

  it("without Web Locks, BroadcastChannel and SharedWorker, two tabs each hold their own stream and work", async () => {
    await within(SETTLE_MS, "the last test's streams closed", async () => {
      return (await openStreams()) === 0;
    });
    const context = await profile(() => {
      // Removed before the app loads, as in a browser that has none of them.
      delete (Navigator.prototype as { locks?: unknown }).locks;
      delete (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel;
      delete (globalThis as { SharedWorker?: unknown }).SharedWorker;
    });
    const held = streamsByTab(context);
    const paths = [IMAGE, VIDEO];
    const pages: Page[] = [];
    for (const path of paths) {
      const page = await context.newPage();
      await page.goto(path);
      pages.push(page);
    }
    expect(
      await pages[0]?.evaluate(() => "locks" in navigator || "BroadcastChannel" in window),
    ).toBe(false);
    await within(SETTLE_MS, "two streams open, both tabs Connected", async () => {
      return (await openStreams()) === 2 && (await allSay(pages, "Connected"));
    });
    expect(pages.map((page) => held.get(page))).toEqual([1, 1]);

    const prompt = "a lantern in the snow";
    const fileId = await startImage(pages[0] as Page, prompt);
    await activityItem(pages[1] as Page, prompt).waitFor({ timeout: SETTLE_MS });
    await completesIn(pages, paths, prompt, fileId);
  }, 120_000);
});
