/**
 * Herald Studio in Chromium, against the server as `npm start` runs it: what a person sees
 * while generating images and videos, through a cut connection, a reload and a second tab.
 * Every test opens its own browser context, so it is a new visitor with a user of its own.
 */
import { mkdtempSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startTcpProxy, type TcpProxy } from "@herald/test-support/tcp-proxy";
import type { BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, type TestBrowser } from "./support/browser.ts";
import { isRising, progressOf, progressReaches, recordProgress } from "./support/progress.ts";
import { buildStudio, type StudioServer, startStudioServer } from "./support/studio-server.ts";

// The README's pictures are renewed on purpose (UPDATE_SCREENSHOTS=1 npm test); an ordinary
// run still takes them, into a temporary folder, so a test run leaves the tree clean.
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS
  ? resolve(import.meta.dirname, "../docs/screenshots")
  : mkdtempSync(join(tmpdir(), "herald-screenshots-"));
const WIDE = { width: 1360, height: 900 };

let server: StudioServer;
let chrome: TestBrowser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  await buildStudio();
  [server, chrome] = await Promise.all([startStudioServer({ renderPace: 0.3 }), launchChromium()]);
  await mkdir(SCREENSHOTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await Promise.all(contexts.map((context) => context.close()));
  await chrome?.close();
  await server?.close();
}, 30_000);

/** A new visitor: its own cookies, so its own user, with every progress bar recorded. */
async function visitor(baseURL = server.url): Promise<BrowserContext> {
  const context = await chrome.browser.newContext({ baseURL, viewport: WIDE });
  contexts.push(context);
  await context.addInitScript(recordProgress);
  return context;
}

async function open(context: BrowserContext, path: string): Promise<Page> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  // The studio runs under the server's Content-Security-Policy: anything it blocks is a bug.
  page.on("console", (message) => {
    if (/Content.Security.Policy/i.test(message.text())) problems.push(message.text());
  });
  const response = await page.goto(path);
  expect(response?.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
  await indicator(page, "Connected");
  expect(problems).toEqual([]);
  return page;
}

async function indicator(page: Page, text: string): Promise<void> {
  await page.getByTestId("connection-indicator").filter({ hasText: text }).waitFor();
}

interface Generated {
  card: Locator;
  fileId: string;
}

async function generate(page: Page, kind: "Image" | "Video", prompt: string): Promise<Generated> {
  await page.getByLabel("Prompt").fill(prompt);
  await page.getByRole("button", { name: "Generate" }).click();
  const card = page.getByRole("article", { name: `${kind}: ${prompt}` });
  await card.waitFor();
  const fileId = await card.getAttribute("data-file-id");
  if (!fileId) throw new Error(`the card of "${prompt}" has no data-file-id`);
  return { card, fileId };
}

/** The file as the server has it, read with the visitor's cookies straight from the server. */
async function fileOnServer(
  context: BrowserContext,
  fileId: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await context.request.get(`${server.url}/api/v1/file/${fileId}`);
  return { status: response.status(), body: (await response.json()) as Record<string, unknown> };
}

async function waitForServer(
  context: BrowserContext,
  fileId: string,
  done: (file: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  for (;;) {
    const { body } = await fileOnServer(context, fileId);
    if (done(body)) return body;
    // The server is another process: asking again is the only way to see its state change.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SCREENSHOTS, name), fullPage: true });
}

describe("Herald Studio in Chromium", () => {
  it("generates an image end to end: the bar rises, the result is under /files/, download and copy link work, and it is still there after a reload", async () => {
    const context = await visitor();
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
    const page = await open(context, "/tools/image-generator");

    await page.getByLabel("Style").selectOption("watercolor");
    await page.getByLabel("Resolution").selectOption("1024x1024");
    await page.getByLabel("Seed").fill("42");
    const { card, fileId } = await generate(page, "Image", "a lighthouse at dusk");

    const image = card.locator("img");
    await image.waitFor({ timeout: 30_000 });
    const src = await image.getAttribute("src");
    expect(src).toBe(`/files/${fileId}.png`);
    const shown = await progressOf(page, fileId);
    expect(isRising(shown), `progress went down: ${shown.join(", ")}`).toBe(true);
    expect(new Set(shown).size, `too few steps: ${shown.join(", ")}`).toBeGreaterThanOrEqual(3);
    expect(Math.max(...shown)).toBeGreaterThanOrEqual(90);
    expect(await card.getByRole("progressbar").count()).toBe(0);

    const download = card.getByRole("link", { name: "Download" });
    expect(await download.getAttribute("href")).toBe(src);
    expect(await download.getAttribute("download")).toBe(`herald-${fileId}.png`);
    const bytes = await context.request.get(`${server.url}${src}`);
    expect(bytes.headers()["content-type"]).toBe("image/png");

    await card.getByRole("button", { name: "Copy link" }).click();
    await page.getByRole("status").filter({ hasText: "Link copied." }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${server.url}${src}`);

    expect(await fileOnServer(context, fileId)).toMatchObject({
      status: 200,
      body: { status: "completed", prompt: "a lighthouse at dusk", settings: { seed: 42 } },
    });

    await page.reload();
    await page
      .getByRole("article", { name: "Image: a lighthouse at dusk" })
      .locator("img")
      .waitFor();
    expect(await page.locator("article[data-file-id]").count()).toBe(1);
  }, 60_000);

  it("generates a video from one of the user's images, with duration and frame rate, into a <video controls>", async () => {
    const context = await visitor();
    const page = await open(context, "/tools/video-generator");

    // An image made elsewhere (another tool, another tab) shows up among the start images.
    const made = await context.request.post(`${server.url}/api/v1/generation/image`, {
      data: { prompt: "a quiet harbour", resolution: "512x512", seed: 5 },
    });
    const { fileId: imageId } = (await made.json()) as { fileId: string };
    const startImage = page.getByLabel("Start image");
    await startImage.locator(`option[value="${imageId}"]`).waitFor({ state: "attached" });

    await startImage.selectOption(imageId);
    await page.getByLabel("Resolution").selectOption("854x480");
    await page.getByLabel("Duration").fill("3");
    await page.getByLabel("Frame rate").fill("24");
    const { card, fileId } = await generate(page, "Video", "boats rocking in the harbour");

    const video = card.locator("video");
    await video.waitFor({ timeout: 45_000 });
    expect(await video.getAttribute("src")).toBe(`/files/${fileId}.mp4`);
    expect(await video.getAttribute("controls")).not.toBeNull();
    const shown = await progressOf(page, fileId);
    expect(isRising(shown), `progress went down: ${shown.join(", ")}`).toBe(true);
    expect(new Set(shown).size, `too few steps: ${shown.join(", ")}`).toBeGreaterThanOrEqual(3);

    const { body } = await fileOnServer(context, fileId);
    expect(body).toMatchObject({
      status: "completed",
      contentType: "video/mp4",
      durationMs: 3000,
      settings: { durationS: 3, frameRate: 24, imageFileId: imageId, resolution: "854x480" },
    });
  }, 60_000);

  it("runs several generations at once, each with its own progress", async () => {
    const context = await visitor();
    const page = await open(context, "/tools/image-generator");
    await page.getByLabel("Resolution").selectOption("1280x720");
    const first = await generate(page, "Image", "a fox in the snow");
    // The second one from the keyboard alone: Ctrl+Enter in the prompt generates.
    await page.getByLabel("Prompt").fill("a field of sunflowers");
    await page.getByLabel("Prompt").press("Control+Enter");
    const secondCard = page.getByRole("article", { name: "Image: a field of sunflowers" });
    await secondCard.waitFor();
    const second = {
      card: secondCard,
      fileId: (await secondCard.getAttribute("data-file-id")) ?? "",
    };

    await Promise.all([
      first.card.locator("img").waitFor({ timeout: 30_000 }),
      second.card.locator("img").waitFor({ timeout: 30_000 }),
    ]);
    for (const { fileId } of [first, second]) {
      const shown = await progressOf(page, fileId);
      expect(isRising(shown), `progress went down: ${shown.join(", ")}`).toBe(true);
      expect(new Set(shown).size).toBeGreaterThanOrEqual(3);
    }
    expect(await page.locator("article[data-file-id]").count()).toBe(2);
  }, 60_000);

  it("shows Reconnecting… while the connection is cut, then finishes the render with its progress intact", async () => {
    const proxy: TcpProxy = await startTcpProxy(server.port);
    try {
      const context = await visitor(proxy.url);
      const page = await open(context, "/tools/video-generator");
      await page.getByLabel("Resolution").selectOption("854x480");
      await page.getByLabel("Duration").fill("4");
      const { card, fileId } = await generate(page, "Video", "rain on a city street at night");
      // Once the page has had an event it holds an id to resume from.
      const before = await progressReaches(page, fileId, 5);

      proxy.cutOff();
      await indicator(page, "Reconnecting…");
      // The render goes on while the page cannot hear it.
      await waitForServer(context, fileId, (file) => Number(file.progress) * 100 >= before + 25);
      const whileDown = await progressOf(page, fileId);

      proxy.resume();
      await indicator(page, "Connected");
      await card.locator("video").waitFor({ timeout: 45_000 });

      const shown = await progressOf(page, fileId);
      expect(isRising(shown), `progress went down: ${shown.join(", ")}`).toBe(true);
      expect(Math.max(...whileDown)).toBeLessThan(Math.max(...shown));
      expect(await card.locator("video").getAttribute("src")).toBe(`/files/${fileId}.mp4`);
      expect(await page.locator("article[data-file-id]").count()).toBe(1);
    } finally {
      await proxy.close();
    }
  }, 90_000);

  it("carries a render through a reload: the bar goes on from where it was, never from 0, and ends with one result", async () => {
    const context = await visitor();
    const page = await open(context, "/tools/video-generator");
    await page.getByLabel("Resolution").selectOption("854x480");
    await page.getByLabel("Duration").fill("3");
    const prompt = "a paper lantern drifting up";
    const { fileId } = await generate(page, "Video", prompt);
    const before = await progressReaches(page, fileId, 20);

    await page.reload();
    const card = page.getByRole("article", { name: `Video: ${prompt}` });
    await card.locator("video").waitFor({ timeout: 45_000 });

    const after = await progressOf(page, fileId);
    expect(after.length, "no progress was drawn after the reload").toBeGreaterThan(0);
    expect(after[0], `after the reload: ${after.join(", ")}`).toBeGreaterThanOrEqual(before);
    expect(isRising(after), `progress went down: ${after.join(", ")}`).toBe(true);
    expect(await page.locator("article[data-file-id]").count()).toBe(1);
    expect(await card.locator("video").count()).toBe(1);
  }, 60_000);

  it("shows the same activity in two tabs, and a render started in one tab live in the other", async () => {
    const context = await visitor();
    const first = await open(context, "/tools/image-generator");
    const second = await open(context, "/tools/image-generator");
    const prompt = "a red kite over green hills";

    const { fileId } = await generate(first, "Image", prompt);
    const inSecond = second.locator(`article[data-file-id="${fileId}"]`);
    await inSecond.waitFor();
    await inSecond.locator("img").waitFor({ timeout: 30_000 });

    for (const page of [first, second]) {
      const item = page
        .getByRole("list", { name: "Recent tasks" })
        .getByRole("listitem")
        .filter({ hasText: prompt });
      await item.filter({ hasText: "Done" }).waitFor();
    }
    const shown = await progressOf(second, fileId);
    expect(isRising(shown), `progress went down: ${shown.join(", ")}`).toBe(true);
  }, 60_000);

  it("cancels a running render", async () => {
    const context = await visitor();
    const page = await open(context, "/tools/video-generator");
    await page.getByLabel("Resolution").selectOption("1280x720");
    await page.getByLabel("Duration").fill("10");
    const { card, fileId } = await generate(page, "Video", "a long train through the mountains");
    await progressReaches(page, fileId, 2);

    await card.getByRole("button", { name: "Cancel" }).click();
    await card.filter({ hasText: "Cancelled" }).waitFor();
    expect(await card.getAttribute("data-status")).toBe("cancelled");
    expect(await card.getByRole("button", { name: "Cancel" }).count()).toBe(0);
    expect(await card.locator("video").count()).toBe(0);
    expect((await fileOnServer(context, fileId)).body.status).toBe("cancelled");
  }, 60_000);

  it("says what is wrong with the form, next to the field, and moves the focus there", async () => {
    const context = await visitor();
    const page = await open(context, "/tools/video-generator");
    await page.getByRole("button", { name: "Generate" }).click();
    await page.getByText("Write a prompt first").waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("video-prompt");
    expect(await page.getByLabel("Prompt").getAttribute("aria-invalid")).toBe("true");

    await page.getByLabel("Prompt").fill("a slow river");
    await page.getByLabel("Frame rate").fill("60");
    await page.getByRole("button", { name: "Generate" }).click();
    await page.getByText("The frame rate is a whole number from 8 to 30").waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("video-frameRate");
    expect(await page.locator("article[data-file-id]").count()).toBe(0);
  }, 30_000);

  it("deletes a result from the gallery and from the server", async () => {
    const context = await visitor();
    const page = await open(context, "/tools/image-generator");
    await page.getByLabel("Resolution").selectOption("512x512");
    const prompt = "a cup of tea by the window";
    const { card, fileId } = await generate(page, "Image", prompt);
    await card.locator("img").waitFor({ timeout: 30_000 });

    await card.getByRole("button", { name: `Delete image “${prompt}”` }).click();
    await card.waitFor({ state: "detached" });
    await page.getByRole("status").filter({ hasText: "The image was deleted." }).waitFor();
    expect((await fileOnServer(context, fileId)).status).toBe(404);
    expect((await context.request.get(`${server.url}/files/${fileId}.png`)).status()).toBe(404);

    await page.reload();
    await indicator(page, "Connected");
    await page.getByText("No images yet.").waitFor();
  }, 60_000);

  it("takes a screenshot of each page, wide and at 360 px", async () => {
    const context = await visitor();
    const home = await open(context, "/");
    const made: string[] = [];
    for (const [prompt, style] of [
      ["a lighthouse at dusk, waves below", "watercolor"],
      ["a neon city street in the rain", "neon"],
      ["mountains at sunrise above the clouds", "cinematic"],
    ] as const) {
      const answer = await context.request.post(`${server.url}/api/v1/generation/image`, {
        data: { prompt, style, resolution: "768x768", seed: made.length + 11 },
      });
      made.push(((await answer.json()) as { fileId: string }).fileId);
    }
    const video = await context.request.post(`${server.url}/api/v1/generation/video`, {
      data: {
        prompt: "clouds rolling over the mountains",
        style: "cinematic",
        resolution: "854x480",
        durationS: 2,
        frameRate: 12,
        seed: 3,
      },
    });
    made.push(((await video.json()) as { fileId: string }).fileId);
    for (const fileId of made)
      await waitForServer(context, fileId, (file) => file.status === "completed");

    await home.reload();
    await indicator(home, "Connected");
    await home.getByRole("list", { name: "Recent tasks" }).getByRole("listitem").nth(3).waitFor();
    await screenshot(home, "home.png");

    const images = await open(context, "/tools/image-generator");
    await images.getByLabel("Style").selectOption("pastel");
    await images.getByLabel("Resolution").selectOption("1280x720");
    const running = await generate(images, "Image", "a paper boat on a calm pond");
    await progressReaches(images, running.fileId, 30);
    await screenshot(images, "image-generator.png");

    const videos = await open(context, "/tools/video-generator");
    await videos.getByLabel("Start image").selectOption(made[0] ?? "");
    await videos.getByLabel("Resolution").selectOption("1280x720");
    const clip = await generate(videos, "Video", "waves rolling in under the lighthouse");
    await progressReaches(videos, clip.fileId, 20);
    await screenshot(videos, "video-generator.png");

    await images.setViewportSize({ width: 360, height: 780 });
    const overflow = await images.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow, "the page scrolls sideways at 360 px").toBeLessThanOrEqual(0);
    await screenshot(images, "image-generator-360.png");
  }, 90_000);
});
