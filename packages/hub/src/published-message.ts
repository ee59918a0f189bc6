/**
 * A published message as it is stored and goes on the wire (PROTOCOL.md sections 4 and 5): the
 * checks a publisher's message must pass, and its JSON with `channel` and `ts` added.
 */
import { channelProblem, HeraldError } from "@herald/protocol";
import { checkPublishedMessage } from "@herald/protocol/schemas";

/**
 * The JSON of `message` as published on `channel` at `ts`; throws HeraldError
 * `invalid_channel`, `invalid_message` or `payload_too_large`.
 */
export function publishedJson(
  channel: string,
  message: unknown,
  ts: number,
  channelKinds: readonly string[],
  maxMessageBytes: number,
): string {
  const problem = channelProblem(channel, channelKinds);
  if (problem) throw new HeraldError("invalid_channel", problem);
  const check = checkPublishedMessage(message);
  if (!check.ok) throw new HeraldError("invalid_message", check.problem);
  let data: string;
  try {
    data = messageJson(message as object, channel, ts);
  } catch (cause) {
    // Cycles and nesting deep enough to overflow the stack cannot go on the wire.
    throw new HeraldError(
      "invalid_message",
      "the message cannot be serialised to JSON: it is cyclic or nested too deeply",
      { cause },
    );
  }
  // No UTF-16 unit takes more than 3 bytes of UTF-8: most messages need no counting.
  if (data.length * 3 > maxMessageBytes && Buffer.byteLength(data) > maxMessageBytes) {
    throw new HeraldError(
      "payload_too_large",
      `the message is ${Buffer.byteLength(data)} bytes of JSON; the limit is ${maxMessageBytes}: send a reference to large data instead`,
    );
  }
  return data;
}

/**
 * The message as it goes on the wire: the publisher's own object (not zod's copy, so its fields
 * keep their order) with `channel` and `ts` last. Spliced into the publisher's JSON rather than
 * spread into a new object first, which cost more than the serialising itself.
 */
function messageJson(message: object, channel: string, ts: number): string {
  const plain =
    !Object.hasOwn(message, "channel") &&
    !Object.hasOwn(message, "ts") &&
    // A spread copy loses a toJSON its prototype has: that message goes the general way.
    typeof (message as { toJSON?: unknown }).toJSON !== "function";
  if (plain) {
    const json = JSON.stringify(message);
    if (json.startsWith("{")) {
      const fields = json.length > 2 ? `${json.slice(0, -1)},` : "{";
      // Joined, not concatenated: `+` would make a tree of strings (a node per piece, and a
      // slice holding the whole first JSON) that lives as long as the event and is flattened
      // by whatever reads it first (its frame, the store). A join is one flat string at once.
      return [
        fields,
        '"channel":',
        JSON.stringify(channel),
        ',"ts":',
        JSON.stringify(ts),
        "}",
      ].join("");
    }
  }
  return JSON.stringify({ ...message, channel, ts });
}
