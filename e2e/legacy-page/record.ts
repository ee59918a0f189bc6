/** What the page saw, for the test to read with `page.evaluate(() => window.legacyRecord)`. */
declare global {
  interface Window {
    legacyRecord: Record<string, unknown[]>;
  }
}

window.legacyRecord = {};

export function record(name: string, value: unknown): void {
  window.legacyRecord[name] ??= [];
  window.legacyRecord[name].push(value);
}
