/**
 * The message as the migrating app's handlers read it (`../shared/design/LEGACY_HOOKS.md`,
 * "Handlers: an array of functions"), and `legacyView`, the one function that builds it from a
 * Herald message.
 */
import type { Message } from "@herald/protocol";

/**
 * The app's `ImageSSEMessage` / `ArtifactSSEMessage`: what every WebSocket-era and SSE-era hook
 * hands its handlers. `object` and `data` are `any` on purpose: the app's handlers read
 * `message.object.url.substring(…)` unchecked, and must compile unchanged.
 */
export interface LegacyMessage {
  type: string;
  // biome-ignore lint/suspicious/noExplicitAny: the app's handlers read message.object.url.substring(…) unchecked
  object?: any;
  // biome-ignore lint/suspicious/noExplicitAny: the app's handlers read message.data.message unchecked
  data?: any;
  error?: string;
  /** The top-level progress the Video Generator reads; filled from `object.progress`. */
  progress?: number;
  /** Filled from `object.status`. */
  status?: string;
  imageUrl?: string;
  /** Filled from `object.url`. */
  url?: string;
  id?: string;
  /** Filled from the hook's context (its id) where the message has none. */
  projectId?: string;
  /** Filled from the hook's `requestId` where the message has none. */
  requestId?: string;
  /** Added by the Herald server: the channel the message was published on. */
  channel?: string;
  /** Added by the Herald server: publish time, ms since the epoch. */
  ts?: number;
  /** Every other field the publisher set, kept as it was sent. */
  [field: string]: unknown;
}

/** The app's names for the same message. */
export type ImageSSEMessage = LegacyMessage;
export type VideoSSEMessage = LegacyMessage;
export type ArtifactSSEMessage = LegacyMessage;

/** One handler of the array form: gets every message of the channel, and switches on `type`. */
export type ImageEventHandler = (eventData: ImageSSEMessage) => void;
export type VideoEventHandler = (eventData: VideoSSEMessage) => void;
export type ArtifactEventHandler = (eventData: ArtifactSSEMessage) => void;

/** What a hook knows that a message may not say: the ids the app's store added. */
export interface LegacyContext {
  projectId?: string | undefined;
  requestId?: string | undefined;
}

/**
 * The legacy view of `message`: a shallow copy with the legacy mirrors filled where the message
 * does not have them itself and the event carries the value:
 *
 * - `progress` from `object.progress` (a number),
 * - `url` from `object.url` (a string),
 * - `status` from `object.status` (a string),
 * - `projectId` and `requestId` from `context` (the hook's own ids).
 *
 * A field the message already has is never replaced, and nothing else changes: `object`,
 * `data` and every other field are the message's own (not copied, not altered). The message
 * itself is left as it is, since other subscribers of the client get the same object.
 */
export function legacyView(message: Message, context: LegacyContext = {}): LegacyMessage {
  const view: LegacyMessage = { ...message };
  const object: Record<string, unknown> | undefined = message.object;
  if (object) {
    if (view.progress === undefined && typeof object.progress === "number") {
      view.progress = object.progress;
    }
    if (view.url === undefined && typeof object.url === "string") view.url = object.url;
    if (view.status === undefined && typeof object.status === "string") view.status = object.status;
  }
  if (view.projectId === undefined && context.projectId) view.projectId = context.projectId;
  if (view.requestId === undefined && context.requestId) view.requestId = context.requestId;
  return view;
}
