/**
 * The URL of one multiplexed stream (PROTOCOL.md sections 2 and 3). Channels are sorted and
 * deduplicated so that the same set always gives the same URL, and the client can tell a real
 * change of channels from a reshuffle.
 */

export interface StreamUrlParts {
  baseUrl: string;
  path: string;
  channels: readonly string[];
  /** Channels that replay all their history whatever the cursor (the hub's `start=`). */
  start?: readonly string[] | undefined;
  /** The cursor to resume from: a new EventSource cannot send `Last-Event-ID` itself. */
  lastEventId?: string | undefined;
  /** For browsers that can send neither a cookie nor an Authorization header. */
  token?: string | undefined;
}

export function streamChannels(channels: Iterable<string>): string[] {
  return [...new Set(channels)].sort();
}

export function buildStreamUrl(parts: StreamUrlParts): string {
  const params = new URLSearchParams();
  for (const channel of streamChannels(parts.channels)) params.append("channel", channel);
  for (const channel of streamChannels(parts.start ?? [])) params.append("start", channel);
  if (parts.lastEventId) params.set("lastEventId", parts.lastEventId);
  if (parts.token) params.set("token", parts.token);
  return `${parts.baseUrl.replace(/\/+$/, "")}${parts.path}?${params}`;
}
