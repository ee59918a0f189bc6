/**
 * Whether a stream may open (PROTOCOL.md sections 1, 2 and 8): its channels, how many, and how
 * many streams its subject already holds. Checked before any byte of the stream is written.
 */
import { channelProblem, HeraldError } from "@herald/protocol";
import type { StreamRequest } from "./hub.ts";

export class Admission {
  /** Open streams per token subject. */
  private readonly streamsBySubject = new Map<string, number>();

  constructor(
    private readonly limits: { maxChannelsPerStream: number; maxStreamsPerSubject: number },
    private readonly channelKinds: readonly string[],
  ) {}

  /** Throws HeraldError with the refusal: no channel, too many, or a malformed name. */
  checkChannels(channels: readonly string[]): void {
    if (channels.length === 0) {
      throw new HeraldError(
        "invalid_channel",
        "name at least one channel: /api/v1/events/{channel} or ?channel=…",
      );
    }
    if (channels.length > this.limits.maxChannelsPerStream) {
      throw new HeraldError(
        "too_many_channels",
        `a stream may carry at most ${this.limits.maxChannelsPerStream} channels, ${channels.length} were asked for`,
      );
    }
    for (const channel of channels) {
      const problem = channelProblem(channel, this.channelKinds);
      if (problem) throw new HeraldError("invalid_channel", problem);
    }
  }

  /** The channels, then the per-subject limit. */
  checkStream(request: StreamRequest): void {
    this.checkChannels(request.channels);
    if ((this.streamsBySubject.get(request.subject) ?? 0) >= this.limits.maxStreamsPerSubject) {
      throw new HeraldError(
        "too_many_connections",
        `at most ${this.limits.maxStreamsPerSubject} streams may be open per user: close unused ones, or put more channels on one stream`,
      );
    }
  }

  opened(subject: string): void {
    this.streamsBySubject.set(subject, (this.streamsBySubject.get(subject) ?? 0) + 1);
  }

  closed(subject: string): void {
    const count = (this.streamsBySubject.get(subject) ?? 1) - 1;
    if (count > 0) this.streamsBySubject.set(subject, count);
    else this.streamsBySubject.delete(subject);
  }
}
