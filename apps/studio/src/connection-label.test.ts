import type { ConnectionState } from "@herald/client";
import { describe, expect, it } from "vitest";
import { connectionLabel } from "./connection-label.ts";

const state = (status: ConnectionState["status"], extra: Partial<ConnectionState> = {}) => ({
  status,
  attempts: 0,
  ...extra,
});

describe("connectionLabel", () => {
  it("says Connected while the stream is open", () => {
    expect(connectionLabel(state("open"), true).text).toBe("Connected");
  });

  it("says Connecting… before the first open, and Connected through a re-open for new channels", () => {
    expect(connectionLabel(state("connecting"), false).text).toBe("Connecting…");
    expect(connectionLabel(state("connecting"), true).text).toBe("Connected");
  });

  it("says Reconnecting… while the stream is down", () => {
    const label = connectionLabel(state("reconnecting", { attempts: 2 }), true);
    expect(label).toMatchObject({ text: "Reconnecting…", tone: "warning", canRetry: false });
    expect(label.detail).toContain("attempt 2");
  });

  it("says Offline, why, and offers to try again once the client gives up", () => {
    const label = connectionLabel(
      state("closed", {
        attempts: 10,
        lastError: { code: "gave_up", message: "gave up after 10 failed attempts in a row" },
      }),
      true,
    );
    expect(label).toMatchObject({ text: "Offline", tone: "offline", canRetry: true });
    expect(label.detail).toContain("gave up after 10");
  });
});
