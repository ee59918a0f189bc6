/**
 * The artifacts the app's chat messages carry (`../shared/design/LEGACY_HOOKS.md`, "What the
 * chat hooks do"): an assistant message's text part holds the artifact's JSON, plain or in a
 * json code fence, with `kind` "image" or "video", a `projectId` and, for video, a `fileId`.
 * Pure functions, so the hooks stay small and the rules are tested on their own.
 */

export type ArtifactKind = "image" | "video";

/** The least the chat hooks need of a chat message (an AI SDK `UIMessage` fits). */
export interface ChatMessageLike {
  role?: string;
  parts?: readonly unknown[];
}

/** A finished file, as the hooks write it into the artifact. */
export interface ArtifactCompletion {
  url: string;
  requestId?: string | undefined;
  /** When the hook heard of it (ms since the epoch). */
  timestamp: number;
}

const FENCE = /```json\s*(\{[\s\S]*?\})\s*```/;
const MARKERS: Record<ArtifactKind, readonly string[]> = {
  image: ['"kind":"image"', "'kind':'image'", "ImageArtifact"],
  video: ['"kind":"video"', "'kind':'video'", "VideoArtifact"],
};
const URL_FIELD: Record<ArtifactKind, "imageUrl" | "videoUrl"> = {
  image: "imageUrl",
  video: "videoUrl",
};
const DONE_MESSAGE: Record<ArtifactKind, string> = {
  image: "Image generation completed!",
  video: "Video generation completed!",
};
const VIDEO_EXTENSION = /\.(mp4|mov|webm|avi|mkv)$/i;

/**
 * The keys a chat hook follows, sorted: for images each artifact's `projectId`; for video its
 * `projectId` and `file.{fileId}` (the app's own keys: `connectToProject` takes both forms).
 */
export function artifactKeys(messages: readonly unknown[], kind: ArtifactKind): string[] {
  const keys = new Set<string>();
  for (const message of messages) {
    for (const { artifact } of artifactsOf(message, kind)) {
      if (typeof artifact.projectId === "string" && artifact.projectId !== "") {
        keys.add(artifact.projectId);
      }
      if (kind === "video" && typeof artifact.fileId === "string" && artifact.fileId !== "") {
        keys.add(`file.${artifact.fileId}`);
      }
    }
  }
  return [...keys].sort();
}

/** The channel a key follows: `file.{id}` keys as they are, project ids as `project.{id}`. */
export function channelOfKey(key: string): string {
  return key.startsWith("file.") ? key : `project.${key}`;
}

/** The key of a message's channel, for the hooks that subscribed it from `channelOfKey`. */
export function keyOfChannel(channel: string): string | undefined {
  if (channel.startsWith("file.")) return channel;
  if (channel.startsWith("project.")) return channel.slice("project.".length);
  return undefined;
}

/**
 * The url of a finished file of that kind in a legacy message, else undefined: a `file` message
 * with `object.url`, whose `object.type` is "image" (images), or whose `contentType` is video or
 * url a video file (video), as the app's chat hooks decided.
 */
export function completedUrl(
  message: { type: string; object?: unknown },
  kind: ArtifactKind,
): string | undefined {
  if (message.type !== "file" || !isRecord(message.object)) return undefined;
  const { url, type, contentType } = message.object;
  if (typeof url !== "string" || url === "") return undefined;
  if (kind === "image") return type === "image" ? url : undefined;
  const isVideo =
    VIDEO_EXTENSION.test(url) ||
    (typeof contentType === "string" && contentType.startsWith("video/"));
  return isVideo ? url : undefined;
}

/**
 * `messages` with the artifact of `key` rewritten as completed, or undefined where there is
 * nothing to rewrite (no such artifact, or it already shows this url). The most recent
 * assistant message holding the artifact is the one rewritten; the others, and every other
 * part, keep their identity. The artifact keeps its fields, with `status: "completed"`, the
 * url (`imageUrl` or `videoUrl`), `projectId`, `requestId`, `timestamp` and `message` set.
 */
export function completeArtifact<M>(
  messages: readonly M[],
  kind: ArtifactKind,
  key: string,
  completion: ArtifactCompletion,
): M[] | undefined {
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index];
    for (const found of artifactsOf(message, kind)) {
      if (!isArtifactOf(found.artifact, key)) continue;
      const urlField = URL_FIELD[kind];
      if (found.artifact.status === "completed" && found.artifact[urlField] === completion.url) {
        return undefined;
      }
      const projectId = key.startsWith("file.") ? found.artifact.projectId : key;
      const updated = {
        ...found.artifact,
        status: "completed",
        [urlField]: completion.url,
        ...(projectId === undefined ? {} : { projectId }),
        requestId: completion.requestId || found.artifact.requestId,
        timestamp: completion.timestamp,
        message: DONE_MESSAGE[kind],
      };
      const text = found.fenced
        ? found.text.replace(FENCE, `\`\`\`json\n${JSON.stringify(updated, null, 2)}\n\`\`\``)
        : JSON.stringify(updated);
      const source = message as ChatMessageLike;
      const parts = [...(source.parts ?? [])];
      parts[found.partIndex] = { ...(parts[found.partIndex] as object), text };
      const next = [...messages];
      // The same message with only its parts replaced: whatever else M holds is kept.
      next[index] = { ...source, parts } as M;
      return next;
    }
  }
  return undefined;
}

/** The message of `key` whose artifact shows `url` as completed: the one a hook saves. */
export function completedMessage<M>(
  messages: readonly M[],
  kind: ArtifactKind,
  key: string,
  url: string,
): M | undefined {
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index];
    for (const { artifact } of artifactsOf(message, kind)) {
      if (
        isArtifactOf(artifact, key) &&
        artifact.status === "completed" &&
        artifact[URL_FIELD[kind]] === url
      ) {
        return message;
      }
    }
  }
  return undefined;
}

interface FoundArtifact {
  artifact: Record<string, unknown>;
  partIndex: number;
  text: string;
  fenced: boolean;
}

function isArtifactOf(artifact: Record<string, unknown>, key: string): boolean {
  return key.startsWith("file.")
    ? artifact.fileId === key.slice("file.".length)
    : artifact.projectId === key;
}

/** The artifacts of one kind in an assistant message's text parts. */
function artifactsOf(message: unknown, kind: ArtifactKind): FoundArtifact[] {
  if (!isRecord(message) || message.role !== "assistant" || !Array.isArray(message.parts)) {
    return [];
  }
  const found: FoundArtifact[] = [];
  message.parts.forEach((part: unknown, partIndex: number) => {
    if (!isRecord(part) || part.type !== "text" || typeof part.text !== "string") return;
    const text = part.text;
    const parsed = parseArtifact(text);
    if (!parsed) return;
    // An artifact that names its kind is taken at its word; one that does not, by the app's markers.
    const marked =
      typeof parsed.artifact.kind === "string"
        ? parsed.artifact.kind === kind
        : MARKERS[kind].some((marker) => text.includes(marker));
    if (marked) found.push({ ...parsed, partIndex, text });
  });
  return found;
}

/**
 * The JSON of a text part: the first json code fence where there is one, else the whole text
 * where it is an object. Text that is not JSON (most chat text) is simply no artifact.
 */
function parseArtifact(
  text: string,
): { artifact: Record<string, unknown>; fenced: boolean } | undefined {
  const fence = text.includes("```json") ? FENCE.exec(text) : null;
  const json = fence ? fence[1] : text.trim();
  if (json === undefined || !json.startsWith("{") || !json.endsWith("}")) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined; // chat text that looks like an object but is not JSON: not an artifact
  }
  return isRecord(value) ? { artifact: value, fenced: fence !== null } : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
