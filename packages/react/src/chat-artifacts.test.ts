import { describe, expect, it } from "vitest";
import {
  artifactKeys,
  channelOfKey,
  completeArtifact,
  completedMessage,
  completedUrl,
  keyOfChannel,
} from "./chat-artifacts.ts";

const fenced = (artifact: object) =>
  `Here is your image:\n\`\`\`json\n${JSON.stringify(artifact, null, 2)}\n\`\`\`\nEnjoy.`;
const assistant = (id: string, ...texts: string[]) => ({
  id,
  role: "assistant",
  content: "",
  parts: texts.map((text) => ({ type: "text", text })),
});

describe("artifactKeys", () => {
  it("finds image artifacts as plain JSON or in a json fence, in assistant messages only", () => {
    const messages = [
      {
        id: "u",
        role: "user",
        parts: [{ type: "text", text: '{"kind":"image","projectId":"pu"}' }],
      },
      assistant("a1", '{"kind":"image","status":"pending","projectId":"p1"}'),
      assistant("a2", fenced({ kind: "image", status: "pending", projectId: "p2" })),
      assistant(
        "a3",
        "no artifact here {not json}",
        '{"kind":"video","projectId":"pv","fileId":"fv"}',
      ),
      {
        id: "r",
        role: "assistant",
        parts: [{ type: "reasoning", text: '{"kind":"image","projectId":"pr"}' }],
      },
    ];
    expect(artifactKeys(messages, "image")).toEqual(["p1", "p2"]);
    expect(artifactKeys(messages, "video")).toEqual(["file.fv", "pv"]);
  });

  it("takes an artifact without kind by the app's markers", () => {
    const messages = [assistant("a", 'ImageArtifact ```json\n{"projectId":"p9"}\n```')];
    expect(artifactKeys(messages, "image")).toEqual(["p9"]);
    expect(artifactKeys(messages, "video")).toEqual([]);
  });

  it("ignores what is not a message", () => {
    expect(artifactKeys([null, 3, "text", { role: "assistant", parts: "x" }], "image")).toEqual([]);
  });
});

describe("channels and keys", () => {
  it("maps project ids to project.{id} and keeps file.{id} keys", () => {
    expect(channelOfKey("p1")).toBe("project.p1");
    expect(channelOfKey("file.f1")).toBe("file.f1");
    expect(keyOfChannel("project.p1")).toBe("p1");
    expect(keyOfChannel("file.f1")).toBe("file.f1");
    expect(keyOfChannel("user.u1")).toBeUndefined();
  });
});

describe("completedUrl", () => {
  it("takes image files by object.type, video files by content type or extension", () => {
    const file = (object: object) => ({ type: "file", object });
    expect(completedUrl(file({ type: "image", url: "/files/a.png" }), "image")).toBe(
      "/files/a.png",
    );
    expect(completedUrl(file({ type: "video", url: "/files/a.mp4" }), "image")).toBeUndefined();
    expect(completedUrl(file({ url: "/files/a.webm" }), "video")).toBe("/files/a.webm");
    expect(completedUrl(file({ url: "/files/a", contentType: "video/mp4" }), "video")).toBe(
      "/files/a",
    );
    expect(completedUrl(file({ type: "image", url: "/files/a.png" }), "video")).toBeUndefined();
    expect(completedUrl(file({ type: "image" }), "image")).toBeUndefined();
    expect(
      completedUrl({ type: "render_result", object: { url: "/x.png" } }, "image"),
    ).toBeUndefined();
  });
});

describe("completeArtifact", () => {
  const completion = { url: "/files/f2.png", requestId: "r2", timestamp: 1234 };

  it("rewrites the fenced artifact of that project as completed, keeping the rest of the text and every other message", () => {
    const other = assistant("a1", '{"kind":"image","status":"pending","projectId":"p1"}');
    const target = assistant(
      "a2",
      fenced({ kind: "image", status: "pending", projectId: "p2", prompt: "a fox" }),
    );
    const messages = [other, target];
    const next = completeArtifact(messages, "image", "p2", completion);
    expect(next?.[0]).toBe(other);
    const text = (next?.[1] as typeof target | undefined)?.parts[0]?.text ?? "";
    expect(text.startsWith("Here is your image:\n```json\n")).toBe(true);
    expect(text.endsWith("\n```\nEnjoy.")).toBe(true);
    const artifact = JSON.parse(/```json\s*(\{[\s\S]*?\})\s*```/.exec(text)?.[1] ?? "");
    expect(artifact).toEqual({
      kind: "image",
      status: "completed",
      projectId: "p2",
      prompt: "a fox",
      imageUrl: "/files/f2.png",
      requestId: "r2",
      timestamp: 1234,
      message: "Image generation completed!",
    });
    expect(messages[1]).toBe(target); // the input is not changed
    expect(target.parts[0]?.text).toContain('"status": "pending"');
    expect(next && completedMessage(next, "image", "p2", "/files/f2.png")).toBe(next?.[1]);
  });

  it("rewrites a plain-JSON video artifact by its file id, and answers undefined once done", () => {
    const messages = [
      assistant(
        "a",
        '{"kind":"video","status":"pending","projectId":"p1","fileId":"f1","requestId":"r0"}',
      ),
    ];
    const done = { url: "/files/f1.mp4", timestamp: 5 };
    const next = completeArtifact(messages, "video", "file.f1", done);
    expect(JSON.parse(next?.[0]?.parts[0]?.text ?? "{}")).toEqual({
      kind: "video",
      status: "completed",
      projectId: "p1",
      fileId: "f1",
      requestId: "r0",
      videoUrl: "/files/f1.mp4",
      timestamp: 5,
      message: "Video generation completed!",
    });
    expect(next && completeArtifact(next, "video", "p1", done)).toBeUndefined();
    expect(completeArtifact(messages, "video", "file.other", done)).toBeUndefined();
  });
});
