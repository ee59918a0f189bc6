/**
 * A stream read by a real `curl -N` (no buffering), as a person debugging a deployment reads
 * one: each event with the time its last byte reached us, to tell events that arrive as they
 * are published from events held back and flushed at the end.
 */
import { type ChildProcess, spawn } from "node:child_process";

export interface ArrivedEvent {
  id: string | undefined;
  message: Record<string, unknown>;
  /** `Date.now()` when the blank line ending the event arrived. */
  arrivedAt: number;
}

export interface CurlStream {
  readonly events: ArrivedEvent[];
  readonly comments: string[];
  /** Resolves once `predicate` holds; rejects if curl exits first or `timeoutMs` passes. */
  until(
    predicate: (stream: CurlStream) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<void>;
  close(): Promise<void>;
}

export function openCurlStream(url: string, headers: Record<string, string> = {}): CurlStream {
  const args = ["-N", "-s", "--fail-with-body"];
  for (const [name, value] of Object.entries(headers)) args.push("-H", `${name}: ${value}`);
  const child: ChildProcess = spawn("curl", [...args, url], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
    check();
  });

  let buffered = "";
  let errors = "";
  const waiters = new Set<() => void>();
  const stream: CurlStream = {
    events: [],
    comments: [],
    until(predicate, what, timeoutMs = 20_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(test);
          reject(new Error(`no ${what} within ${timeoutMs} ms; curl got ${describe()}`));
        }, timeoutMs);
        const test = () => {
          if (predicate(stream)) {
            clearTimeout(timer);
            waiters.delete(test);
            resolve();
          } else if (exitCode !== undefined) {
            clearTimeout(timer);
            waiters.delete(test);
            reject(new Error(`curl exited (${exitCode}) before ${what}: ${describe()} ${errors}`));
          }
        };
        waiters.add(test);
        test();
      });
    },
    async close() {
      if (exitCode === undefined) child.kill("SIGTERM");
      await exited;
    },
  };

  function describe(): string {
    return `${stream.events.length} events, ${stream.comments.length} comments, then ${JSON.stringify(buffered.slice(0, 500))}`;
  }

  function check(): void {
    for (const waiter of [...waiters]) waiter();
  }

  child.stderr?.on("data", (chunk: Buffer) => {
    errors += chunk.toString();
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    const arrivedAt = Date.now();
    buffered += chunk.toString();
    let end = buffered.indexOf("\n\n");
    while (end !== -1) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      readBlock(block, arrivedAt);
      end = buffered.indexOf("\n\n");
    }
    check();
  });

  function readBlock(block: string, arrivedAt: number): void {
    let id: string | undefined;
    let named = false;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) stream.comments.push(line.slice(1).trim());
      // The opening cursor and the planned end: control events, not messages.
      else if (line.startsWith("event:")) named = true;
      else if (line.startsWith("id:")) id = line.slice(3).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    if (data.length > 0 && !named) {
      stream.events.push({ id, message: JSON.parse(data.join("\n")), arrivedAt });
    }
  }

  return stream;
}
