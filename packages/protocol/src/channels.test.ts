import { describe, expect, it } from "vitest";
import {
  channelProblem,
  DEFAULT_CHANNEL_KINDS,
  formatChannel,
  isValidChannel,
  matchesChannelPattern,
  parseChannel,
} from "./channels.ts";

const ID_128 = `a${"b".repeat(127)}`;

describe("channel names", () => {
  it.each([
    ["project.p1"],
    ["file.abc-DEF_9"],
    ["user.3f2b8c1e-9d4a-4f6b-8e2a-1c5d7e9f0a1b"],
    ["project.42"],
    ["file.0"],
    ["user.V1StGXR8_Z5jdHi6B-myT"],
    [`project.${ID_128}`],
  ])("accepts %s", (name) => {
    expect(isValidChannel(name)).toBe(true);
    expect(channelProblem(name)).toBeUndefined();
  });

  it.each([
    ["project."],
    ["project..x"],
    ["../x"],
    ["Project.1"],
    [`project.${ID_128}c`],
    [`project.${"a".repeat(200)}`],
    ["project.a b"],
    [" project.a"],
    ["project.a "],
    ["project.%2e"],
    ["project.%2e%2e"],
    ["project.a/b"],
    ["project.a\\b"],
    ["project._a"],
    ["project.-a"],
    ["project.é"],
    ["project.🌊"],
    ["project.a\n"],
    ["project.a\u0000"],
    [""],
    ["project"],
    ["."],
    ["room.1"],
  ])("refuses %j", (name) => {
    expect(isValidChannel(name)).toBe(false);
    expect(channelProblem(name)).toEqual(expect.any(String));
    expect(parseChannel(name)).toBeUndefined();
  });

  it("defaults to the kinds project, file and user", () => {
    expect([...DEFAULT_CHANNEL_KINDS]).toEqual(["project", "file", "user"]);
  });

  it("says which part is wrong and keeps the problem one printable line", () => {
    expect(channelProblem("project")).toMatch(/<kind>\.<id>/);
    expect(channelProblem("room.1")).toMatch(/kind "room" is not one of: project, file, user/);
    expect(channelProblem("project.a\nb")).toMatch(/channel id "a\?b"/);
    expect(channelProblem(`project.${"a".repeat(200)}`)?.length).toBeLessThan(200);
  });

  it("accepts custom kinds and refuses the default ones when they are not listed", () => {
    const kinds = ["room", "team_2"];
    expect(isValidChannel("room.lobby", kinds)).toBe(true);
    expect(isValidChannel("team_2.x", kinds)).toBe(true);
    expect(isValidChannel("project.p1", kinds)).toBe(false);
    expect(channelProblem("project.p1", kinds)).toMatch(/not one of: room, team_2/);
  });

  it("splits a valid name into kind and id", () => {
    expect(parseChannel("file.abc-DEF_9")).toEqual({ kind: "file", id: "abc-DEF_9" });
    expect(parseChannel("room.lobby", ["room"])).toEqual({ kind: "room", id: "lobby" });
  });
});

describe("formatChannel", () => {
  it("builds a name from a kind and a string or numeric id", () => {
    expect(formatChannel("project", "p1")).toBe("project.p1");
    expect(formatChannel("user", 42)).toBe("user.42");
    expect(formatChannel("room", "lobby")).toBe("room.lobby");
  });

  it.each([
    ["project", ""],
    ["project", "a/b"],
    ["project", "../x"],
    ["project", ".x"],
    ["project", "a b"],
    ["project", "a".repeat(129)],
    ["project", -1],
    ["project", 1.5],
    ["Project", "1"],
    ["", "1"],
    ["pro.ject", "1"],
  ])("throws for kind %j and id %j", (kind, id) => {
    expect(() => formatChannel(kind, id)).toThrow(TypeError);
  });

  it("says what is wrong instead of printing undefined", () => {
    expect(() => formatChannel("Project", "1")).toThrow(/kind "Project": a kind must be/);
    expect(() => formatChannel("project", "a/b")).toThrow(/channel id "a\/b" must be 1 to 128/);
  });
});

describe("matchesChannelPattern", () => {
  it("matches any id of a kind with <kind>.*", () => {
    expect(matchesChannelPattern("project.x", ["project.*"])).toBe(true);
    expect(matchesChannelPattern("project.42", ["project.*"])).toBe(true);
  });

  it("does not match another kind that shares a prefix", () => {
    expect(matchesChannelPattern("projects.x", ["project.*"])).toBe(false);
    expect(matchesChannelPattern("project.x", ["file.*"])).toBe(false);
  });

  it("lets * stand only for one whole, non-empty id", () => {
    expect(matchesChannelPattern("project.", ["project.*"])).toBe(false);
    expect(matchesChannelPattern("project.a.b", ["project.*"])).toBe(false);
    expect(matchesChannelPattern("project.a/b", ["project.*"])).toBe(false);
    expect(matchesChannelPattern("project...", ["project.*"])).toBe(false);
  });

  it("matches exact names only exactly", () => {
    expect(matchesChannelPattern("file.abc", ["file.abc"])).toBe(true);
    expect(matchesChannelPattern("file.abcd", ["file.abc"])).toBe(false);
    expect(matchesChannelPattern("file.ab", ["file.abc"])).toBe(false);
  });

  it("matches nothing with a lone * or with no patterns", () => {
    expect(matchesChannelPattern("project.x", ["*"])).toBe(false);
    expect(matchesChannelPattern("user.u1", ["*"])).toBe(false);
    expect(matchesChannelPattern("project.x", [])).toBe(false);
  });

  it("matches when any one of several patterns does", () => {
    const patterns = ["user.u42", "project.*", "file.abc"];
    expect(matchesChannelPattern("user.u42", patterns)).toBe(true);
    expect(matchesChannelPattern("project.p9", patterns)).toBe(true);
    expect(matchesChannelPattern("file.abc", patterns)).toBe(true);
    expect(matchesChannelPattern("user.u43", patterns)).toBe(false);
    expect(matchesChannelPattern("file.abd", patterns)).toBe(false);
  });
});
