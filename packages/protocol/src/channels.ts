/**
 * Channel names, PROTOCOL.md section 1: `<kind>.<id>`, where `id` matches
 * `^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$` and the kind is one of a configurable set.
 */

export const DEFAULT_CHANNEL_KINDS = ["project", "file", "user"] as const;

export interface Channel {
  kind: string;
  id: string;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const KIND_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;

/** Why a channel name was refused, for a message a person can act on; `undefined` if it is valid. */
export function channelProblem(
  name: string,
  kinds: readonly string[] = DEFAULT_CHANNEL_KINDS,
): string | undefined {
  const dot = name.indexOf(".");
  if (dot < 0)
    return `channel "${printable(name)}" must look like <kind>.<id>, for example project.42`;
  const kind = name.slice(0, dot);
  const id = name.slice(dot + 1);
  if (!kinds.includes(kind)) {
    return `channel kind "${printable(kind)}" is not one of: ${kinds.join(", ")}`;
  }
  if (!ID_PATTERN.test(id)) {
    return `channel id "${printable(id)}" must be 1 to 128 letters, digits, "_" or "-", starting with a letter or digit`;
  }
  return undefined;
}

export function isValidChannel(
  name: string,
  kinds: readonly string[] = DEFAULT_CHANNEL_KINDS,
): boolean {
  return channelProblem(name, kinds) === undefined;
}

/** Splits a valid channel name; `undefined` where it is not valid. */
export function parseChannel(
  name: string,
  kinds: readonly string[] = DEFAULT_CHANNEL_KINDS,
): Channel | undefined {
  if (!isValidChannel(name, kinds)) return undefined;
  const dot = name.indexOf(".");
  return { kind: name.slice(0, dot), id: name.slice(dot + 1) };
}

/** Builds a channel name; throws where kind or id would not make a valid one. */
export function formatChannel(kind: string, id: string | number): string {
  if (!KIND_PATTERN.test(kind)) {
    throw new TypeError(
      `cannot make a channel of kind "${printable(kind)}": a kind must be 1 to 32 lowercase letters, digits or "_", starting with a letter`,
    );
  }
  const name = `${kind}.${id}`;
  const problem = channelProblem(name, [kind]);
  if (problem !== undefined) {
    throw new TypeError(
      `cannot make a channel of kind "${kind}" and id "${printable(String(id))}": ${problem}`,
    );
  }
  return name;
}

/**
 * Whether `channel` matches one of `patterns` (PROTOCOL.md section 7): a pattern is a channel
 * name, or `<kind>.*` where `*` stands for any whole id.
 */
export function matchesChannelPattern(channel: string, patterns: readonly string[]): boolean {
  for (const pattern of patterns) {
    if (pattern === channel) return true;
    // `*` stands for one whole id: not an empty one, and not one with a dot or a slash in it.
    const prefix = pattern.endsWith(".*") ? pattern.slice(0, -1) : undefined;
    if (prefix && channel.startsWith(prefix) && ID_PATTERN.test(channel.slice(prefix.length))) {
      return true;
    }
  }
  return false;
}

/** Keeps error messages one short, printable line whatever a client sent. */
export function printable(value: string, max = 64): string {
  const clean = value.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
