/**
 * The migrating app's call sites (`e2e/legacy-page/call-sites.tsx`, written as the app writes
 * them, only the import changed) in Chromium, against the server as `npm start` runs it. The
 * page is served at the server's own origin under a path the server does not use, so the
 * session and event cookies work as they would in the app; one test puts a Next.js-style events
 * route in front, as the app did.
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, type TestBrowser } from "./support/browser.ts";
import { bundleLegacyPage, type LegacyPage, PAGE_PATH } from "./support/legacy-page.ts";
import { createEventsRoute, startAppServer } from "./support/next-events-route.ts";
import { type StudioServer, startStudioServer } from "./support/studio-server.ts";

let server: StudioServer;
let chrome: TestBrowser;
let bundle: LegacyPage;

beforeAll(async () => {
  [server, chrome, bundle] = await Promise.all([
    startStudioServer({ renderPace: 0.5 }),
    launchChromium(),
    bundleLegacyPage(),
  ]);
}, 120_000);

afterAll(async () => {
  await chrome?.close();
  await server?.close();
}, 30_000);

interface Generation {
  projectId: string;
  fileId: string;
  taskId: string;
}

/** A new visitor with a session, and the test page open at the server's origin. */
async function openPage(): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await chrome.browser.newContext();
  await context.request.get(`${server.url}/api/v1/session`);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.route(`${server.url}${PAGE_PATH}**`, (route) => {
    const isScript = new URL(route.request().url()).pathname.endsWith("/page.js");
    return route.fulfill(
      isScript
        ? { contentType: "text/javascript", body: bundle.script }
        : { contentType: "text/html", body: bundle.html },
    );
  });
  await page.goto(`${server.url}${PAGE_PATH}`);
  await page.getByTestId("page").waitFor({ state: "attached" });
  return { context, page, problems };
}

async function generate(
  context: BrowserContext,
  kind: "image" | "video",
  body: Record<string, unknown>,
): Promise<Generation> {
  const response = await context.request.post(`${server.url}/api/v1/generation/${kind}`, {
    data: body,
  });
  expect(response.status()).toBe(202);
  return (await response.json()) as Generation;
}

async function mount(page: Page, scenario: string, props: unknown): Promise<void> {
  await page.evaluate(([name, given]) => window.legacyPage.mount(name as "image", given as never), [
    scenario,
    props,
  ] as const);
}

async function recorded(page: Page, name: string): Promise<unknown[]> {
  return page.evaluate((key) => window.legacyRecord[key] ?? [], name);
}

/** herald_open_streams as the server's /metrics tells it. */
async function openStreams(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const match = /^herald_open_streams (\d+)/m.exec(text);
  if (!match) throw new Error(`no herald_open_streams in /metrics:\n${text.slice(0, 500)}`);
  return Number(match[1]);
}

async function untilOpenStreams(expected: number): Promise<void> {
  for (;;) {
    if ((await openStreams()) === expected) return;
    // The server is another process: asking again is the only way to see its state change.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function fileOnServer(
  context: BrowserContext,
  fileId: string,
): Promise<Record<string, unknown>> {
  for (;;) {
    const body = (await (
      await context.request.get(`${server.url}/api/v1/file/${fileId}`)
    ).json()) as Record<string, unknown>;
    if (body.status === "completed" || body.status === "error") return body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function isRising(values: number[]): boolean {
  return values.every((value, i) => i === 0 || value >= (values[i - 1] ?? 0));
}

describe("the app's hooks on @herald/react, in Chromium", () => {
  it("useImageSSE({ fileId }) follows an image artifact to its result", async () => {
    const { context, page, problems } = await openPage();
    const { fileId } = await generate(context, "image", { prompt: "a fox in the snow" });
    await mount(page, "image", {
      content: JSON.stringify({ status: "pending", projectId: fileId, requestId: "req_img_1" }),
    });
    const image = page.getByTestId("image-result");
    await image.waitFor({ timeout: 30_000 });
    expect(await image.getAttribute("src")).toBe(`/files/${fileId}.png`);
    expect(await fileOnServer(context, fileId)).toMatchObject({ status: "completed" });
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it("useVideoSSE({ projectId: fileId, requestId }): the handler's progress from the top-level field rises to the result", async () => {
    const { context, page, problems } = await openPage();
    const { fileId } = await generate(context, "video", {
      prompt: "waves on a harbour wall",
      durationS: 2,
      frameRate: 8,
    });
    await mount(page, "video", { fileId, requestId: "video_1" });
    const video = page.getByTestId("video-result");
    await video.waitFor({ state: "attached", timeout: 60_000 });
    expect(await video.getAttribute("src")).toMatch(new RegExp(`^/files/${fileId}\\.`));
    const progress = (await recorded(page, "videoProgress")) as number[];
    expect(isRising(progress), `progress went down: ${progress.join(", ")}`).toBe(true);
    expect(new Set(progress).size, `too few steps: ${progress.join(", ")}`).toBeGreaterThan(1);
    expect(Math.max(...progress)).toBeGreaterThan(50);
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('useArtifactSSE({ channel: "file.{id}" }) gives a video artifact its url', async () => {
    const { context, page, problems } = await openPage();
    const { fileId } = await generate(context, "video", {
      prompt: "a paper boat",
      durationS: 1,
      frameRate: 8,
    });
    await mount(page, "artifact", {
      content: JSON.stringify({ status: "pending", fileId, requestId: "video_2" }),
    });
    const video = page.getByTestId("artifact-video");
    await video.waitFor({ state: "attached", timeout: 60_000 });
    const src = await video.getAttribute("src");
    expect(src).toMatch(new RegExp(`^/files/${fileId}\\.`));
    expect(await recorded(page, "artifactShortUrl")).toEqual([`${src?.substring(0, 50)}...`]);
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it("useChatImageSSE rewrites a chat's pending image artifact as completed, and saves the message once", async () => {
    const { context, page, problems } = await openPage();
    // A project of this user, then a chat message whose artifact waits on it.
    const first = await generate(context, "image", { prompt: "a first sketch" });
    await fileOnServer(context, first.fileId);
    const artifact = {
      kind: "image",
      title: "a red kite",
      status: "pending",
      projectId: first.projectId,
    };
    await mount(page, "chat", {
      id: "chat_1",
      messages: [
        {
          id: "m1",
          role: "user",
          content: "draw a red kite",
          parts: [{ type: "text", text: "draw a red kite" }],
        },
        {
          id: "m2",
          role: "assistant",
          content: "",
          parts: [
            {
              type: "text",
              text: `Here it is:\n\`\`\`json\n${JSON.stringify(artifact, null, 2)}\n\`\`\``,
            },
          ],
        },
      ],
    });
    await page.locator(`[data-testid=chat][data-connected="${first.projectId}"]`).waitFor();
    await untilOpenStreams(1);

    const second = await generate(context, "image", {
      prompt: "a red kite",
      projectId: first.projectId,
    });
    const message = page.getByTestId("chat-message").nth(1);
    await page
      .locator('[data-testid=chat-message][data-text*="\\"status\\": \\"completed\\""]')
      .waitFor({ timeout: 30_000 });
    const text = (await message.getAttribute("data-text")) ?? "";
    const rewritten = JSON.parse(/```json\s*(\{[\s\S]*?\})\s*```/.exec(text)?.[1] ?? "{}");
    expect(rewritten).toMatchObject({
      kind: "image",
      title: "a red kite",
      status: "completed",
      imageUrl: `/files/${second.fileId}.png`,
      projectId: first.projectId,
      message: "Image generation completed!",
    });
    expect(text.startsWith("Here it is:\n```json\n")).toBe(true);
    expect(await recorded(page, "saved")).toEqual([{ chatId: "chat_1", id: "m2" }]);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it("five components on one file all get the result, over one stream", async () => {
    const { context, page, problems } = await openPage();
    const streams: string[] = [];
    page.on("request", (request) => {
      if (new URL(request.url()).pathname === "/api/v1/events") streams.push(request.url());
    });
    const { fileId } = await generate(context, "image", { prompt: "five views of one pear" });
    await mount(page, "viewers", { fileId, count: 5 });
    await page.getByTestId("viewer-result").nth(4).waitFor({ timeout: 30_000 });
    const sources = await page
      .getByTestId("viewer-result")
      .evaluateAll((images) => images.map((image) => image.getAttribute("src")));
    expect(sources).toEqual(new Array(5).fill(`/files/${fileId}.png`));
    expect(((await recorded(page, "viewerDone")) as number[]).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(streams).toEqual([`${server.url}/api/v1/events?channel=file.${fileId}`]);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it("unmounting the hooks closes the page's stream on the server (herald_open_streams drops)", async () => {
    await untilOpenStreams(0);
    const { context, page } = await openPage();
    // A render long enough that only the unmount can end the subscriptions.
    const { fileId, taskId } = await generate(context, "video", {
      prompt: "a long slow pan",
      durationS: 10,
      frameRate: 24,
    });
    await mount(page, "viewers", { fileId, count: 3 });
    await untilOpenStreams(1);
    await page.evaluate(() => window.legacyPage.unmount());
    await untilOpenStreams(0);
    expect(await page.getByTestId("viewer-result").count()).toBe(0);
    const cancelled = await context.request.post(`${server.url}/api/v1/task/${taskId}/cancel`);
    expect(cancelled.status()).toBe(200);
    await context.close();
  }, 60_000);

  it("with the provider's path pointed at the app's own events route, the hooks work through it", async () => {
    // The backend session of one user, as the Next.js app holds it on its server side.
    const session = await fetch(`${server.url}/api/v1/session`);
    const cookies = session.headers.getSetCookie().map((cookie) => cookie.split(";")[0] ?? "");
    const heraldToken = cookies.find((c) => c.startsWith("herald_token="))?.slice(13) ?? "";
    expect(heraldToken).not.toBe("");
    let routed = 0;
    const events = createEventsRoute({ hubUrl: server.url, tokenFor: () => heraldToken });
    const app = await startAppServer(
      {
        "/api/events": (request) => {
          routed += 1;
          return events(request);
        },
      },
      (req, res) => {
        const path = new URL(req.url ?? "/", "http://app.local").pathname;
        if (path === "/") res.writeHead(200, { "content-type": "text/html" }).end(bundle.html);
        else if (path === `${PAGE_PATH}page.js`)
          res.writeHead(200, { "content-type": "text/javascript" }).end(bundle.script);
        else return false;
        return true;
      },
    );
    const context = await chrome.browser.newContext();
    try {
      const started = await fetch(`${server.url}/api/v1/generation/image`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie: cookies.join("; ") },
        body: JSON.stringify({ prompt: "a lantern behind a proxy" }),
      });
      expect(started.status).toBe(202);
      const { fileId } = (await started.json()) as Generation;
      await untilOpenStreams(0);

      const page = await context.newPage();
      const problems: string[] = [];
      page.on("pageerror", (error) => problems.push(error.message));
      await page.goto(`${app.url}/?path=/api/events`);
      await mount(page, "image", {
        content: JSON.stringify({ status: "pending", projectId: fileId, requestId: "req_proxy" }),
      });
      const image = page.getByTestId("image-result");
      await image.waitFor({ timeout: 30_000 });
      expect(await image.getAttribute("src")).toBe(`/files/${fileId}.png`);
      expect(routed).toBeGreaterThanOrEqual(1);
      expect(problems).toEqual([]);
      // The hook let go: the browser closed its stream, the route aborted its own to Herald.
      await untilOpenStreams(0);
    } finally {
      await context.close();
      await app.close();
    }
  }, 60_000);
});
