/** Following a generation's channel in tests, with the byte-level SSE reader. */
import { messagesOf, openRawStream, type RawStream } from "@herald/test-support/raw-sse";

export type Message = Record<string, unknown> & { type: string; object?: Record<string, unknown> };

export interface Followed {
  raw: RawStream;
  messages(): Message[];
  /** Resolves with every message once the task has ended (task completed, error or cancelled). */
  untilEnded(): Promise<Message[]>;
  until(predicate: (messages: Message[]) => boolean, what: string): Promise<Message[]>;
}

const ENDED = ["completed", "error", "cancelled"];

export async function follow(
  baseUrl: string,
  channel: string,
  token: string,
  query = "from=start",
): Promise<Followed> {
  const raw = await openRawStream(`${baseUrl}/api/v1/events/${channel}?${query}`, {
    authorization: `Bearer ${token}`,
  });
  if (raw.status !== 200) throw new Error(`the stream answered ${raw.status}: ${raw.text}`);
  const messages = () => messagesOf(raw) as Message[];
  const until = async (predicate: (messages: Message[]) => boolean, what: string) => {
    await raw.until(() => predicate(messages()), what);
    return messages();
  };
  return {
    raw,
    messages,
    until,
    untilEnded: () =>
      until(
        (all) => all.some((m) => m.type === "task" && ENDED.includes(String(m.object?.status))),
        "the task's end",
      ),
  };
}

/** The sequence in short form: `task:pending`, `render_progress`, `render_result`, `file:completed`… */
export function shape(messages: Message[]): string[] {
  const out: string[] = [];
  for (const message of messages) {
    const label =
      message.type === "task" || message.type === "file"
        ? `${message.type}:${String(message.object?.status)}`
        : message.type;
    if (label === "render_progress" && out.at(-1) === label) continue;
    out.push(label);
  }
  return out;
}
