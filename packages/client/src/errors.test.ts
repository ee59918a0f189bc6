import { describe, expect, it } from "vitest";
import { failureFromResponse, parseRetryAfter } from "./errors.ts";

const NOW = Date.parse("2030-01-01T00:00:00Z");

describe("parseRetryAfter", () => {
  it("reads seconds and HTTP dates, and ignores anything else", () => {
    expect(parseRetryAfter("7", NOW)).toBe(7000);
    expect(parseRetryAfter("Tue, 01 Jan 2030 00:00:03 GMT", NOW)).toBe(3000);
    expect(parseRetryAfter("Mon, 31 Dec 2029 00:00:00 GMT", NOW)).toBe(0);
    expect(parseRetryAfter("soon", NOW)).toBeUndefined();
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
  });
});

describe("failureFromResponse", () => {
  const headers = (values: Record<string, string> = {}) => new Headers(values);

  it("keeps the hub's code and message", () => {
    const body = { error: { code: "too_many_channels", message: "at most 32 channels" } };
    expect(failureFromResponse(400, headers(), body, NOW)).toMatchObject({
      code: "too_many_channels",
      status: 400,
      message: expect.stringContaining("at most 32 channels"),
    });
  });

  it("guesses the code from the status where the body is not the hub's", () => {
    expect(failureFromResponse(401, headers(), "<html>", NOW).code).toBe("unauthorized");
    // The studio API's own 403 and 429 codes never answer a stream: these stay unambiguous.
    expect(failureFromResponse(403, headers(), undefined, NOW).code).toBe("forbidden");
    expect(failureFromResponse(429, headers(), undefined, NOW).code).toBe("too_many_connections");
    expect(failureFromResponse(503, headers({ "retry-after": "2" }), undefined, NOW)).toMatchObject(
      {
        code: "unavailable",
        retryAfterMs: 2000,
      },
    );
    expect(failureFromResponse(502, headers(), undefined, NOW).code).toBe("http_error");
    expect(failureFromResponse(400, headers(), undefined, NOW).code).toBe("http_error");
  });

  it("says what to check when a 200 is not an event stream", () => {
    expect(failureFromResponse(200, headers(), undefined, NOW).message).toMatch(/baseUrl and path/);
  });
});
