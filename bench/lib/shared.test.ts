import { describe, expect, it } from "vitest";
import { publishedJson } from "../../packages/hub/src/published-message.ts";
import { progressMessage, stamped, stampedObject } from "./shared.ts";

describe("stamped: what the bench's peers send", () => {
  it("is the JSON Herald's hub sends for the same message, field for field and in order", () => {
    const message = progressMessage(7, "f3");
    const peer = stamped(message, "file.f3");
    const ts = (JSON.parse(peer) as { ts: number }).ts;
    expect(peer).toBe(publishedJson("file.f3", message, ts, ["file"], 65_536));
  });

  it("serialises, for the peers that take objects, to the same JSON", () => {
    const message = progressMessage(7, "f3");
    const expected = JSON.parse(stamped(structuredClone(message), "file.f3")) as { ts: number };
    const object = stampedObject(message, "file.f3");
    expect(JSON.stringify({ ...object, ts: expected.ts })).toBe(JSON.stringify(expected));
  });

  it("quotes a channel that needs escaping", () => {
    const peer = JSON.parse(stamped({ type: "data" }, 'a"b')) as Record<string, unknown>;
    expect(peer).toMatchObject({ type: "data", channel: 'a"b' });
  });
});
