import { describe, expect, it } from "vitest";
import { buildStreamUrl } from "./stream-url.ts";

describe("buildStreamUrl", () => {
  it("lists channels sorted and once, then the cursor and the token", () => {
    const url = buildStreamUrl({
      baseUrl: "https://hub.test",
      path: "/api/v1/events",
      channels: ["user.u1", "project.p1", "user.u1"],
      lastEventId: "e1-42",
      token: "a b&c",
    });
    expect(url).toBe(
      "https://hub.test/api/v1/events?channel=project.p1&channel=user.u1&lastEventId=e1-42&token=a+b%26c",
    );
  });

  it("gives a same-origin URL for an empty baseUrl and leaves out what is not set", () => {
    expect(buildStreamUrl({ baseUrl: "", path: "/events", channels: ["file.f1"] })).toBe(
      "/events?channel=file.f1",
    );
  });
});
