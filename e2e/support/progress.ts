/**
 * Every value each progress bar of a page shows, recorded in the page by a MutationObserver as
 * it changes, keyed by the file its card is about. Installed with `context.addInitScript`, so
 * it starts before the app does, and starts over on every load: after a reload, the first
 * value recorded is the first one a person saw.
 */
import type { Page } from "playwright-core";

declare global {
  interface Window {
    heraldProgress?: Record<string, number[]>;
  }
}

/** Runs in the page (serialised by Playwright): no imports, no closures over test code. */
export function recordProgress(): void {
  const samples: Record<string, number[]> = {};
  window.heraldProgress = samples;
  const record = (bar: Element) => {
    const id = bar.closest("[data-file-id]")?.getAttribute("data-file-id");
    const value = Number(bar.getAttribute("aria-valuenow"));
    if (!id || bar.getAttribute("aria-valuenow") === null || !Number.isFinite(value)) return;
    samples[id] ??= [];
    const list = samples[id];
    if (list[list.length - 1] !== value) list.push(value);
  };
  new MutationObserver((mutations) => {
    for (const mutation of mutations) {
      if (mutation.type === "attributes" && mutation.target instanceof Element) {
        record(mutation.target);
        continue;
      }
      for (const node of mutation.addedNodes) {
        if (!(node instanceof Element)) continue;
        if (node.matches('[role="progressbar"]')) record(node);
        for (const bar of node.querySelectorAll('[role="progressbar"]')) record(bar);
      }
    }
  }).observe(document, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ["aria-valuenow"],
  });
}

export async function progressOf(page: Page, fileId: string): Promise<number[]> {
  return page.evaluate((id) => window.heraldProgress?.[id] ?? [], fileId);
}

/** Waits until the bar of `fileId` shows at least `value` percent; returns what it shows. */
export async function progressReaches(page: Page, fileId: string, value: number): Promise<number> {
  const handle = await page.waitForFunction(
    ({ id, min }) => {
      const bar = document.querySelector(`[data-file-id="${id}"] [role="progressbar"]`);
      const now = Number(bar?.getAttribute("aria-valuenow"));
      return bar && now >= min ? now : false;
    },
    { id: fileId, min: value },
    { timeout: 30_000 },
  );
  return Number(await handle.jsonValue());
}

export function isRising(values: readonly number[]): boolean {
  return values.every((value, index) => index === 0 || value >= (values[index - 1] ?? 0));
}
