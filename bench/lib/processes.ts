/**
 * The orchestrator's handles on its children: server processes (`servers/main.ts`) and load
 * generator processes (`client.ts`), each forked with tsx, talking over IPC.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type {
  ClientCommand,
  ClientMessage,
  ClientReport,
  ClientSetup,
  MemoryReport,
  PublisherCommand,
  PublisherReport,
  ServerCommand,
  ServerReady,
  ServerStats,
  SystemName,
} from "./shared.ts";

const SERVER = fileURLToPath(new URL("../servers/main.ts", import.meta.url));
const CLIENT = fileURLToPath(new URL("../client.ts", import.meta.url));
const HTTP_PUBLISHER = fileURLToPath(new URL("../http-publisher.ts", import.meta.url));
const children = new Set<ChildProcess>();

export function killAll(): void {
  for (const child of children) child.kill("SIGKILL");
}

function forkTs(file: string, args: string[], extraExecArgv: string[] = []): ChildProcess {
  const child = fork(file, args, {
    execArgv: ["--import", "tsx", "--conditions=@herald/source", "--expose-gc", ...extraExecArgv],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    serialization: "advanced",
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

function exited(child: ChildProcess, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve();
    }, ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export interface ServerHandle {
  system: SystemName;
  child: ChildProcess;
  port: number;
  token: string | undefined;
  call<T = Record<string, unknown>>(command: ServerCommand): Promise<T>;
  /** Fire and forget (acknowledgements). */
  tell(command: ServerCommand): void;
  stats(): Promise<ServerStats>;
  memory(): Promise<MemoryReport>;
  stop(): Promise<void>;
}

export interface ServerSpawnOptions {
  redis?: { url: string; keyPrefix: string };
  /** For `herald-baseline`: the copy of packages/hub/src to run. */
  heraldSrc?: string;
  /** Write a V8 CPU profile of the server into this folder. */
  profileDir?: string;
}

export async function startServer(
  system: SystemName,
  options: ServerSpawnOptions = {},
): Promise<ServerHandle> {
  const execArgv = options.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`] : [];
  // More flags for the server processes only, such as --trace-gc.
  execArgv.push(...(process.env.BENCH_SERVER_FLAGS?.split(" ").filter(Boolean) ?? []));
  const child = forkTs(
    SERVER,
    [system, JSON.stringify({ redis: options.redis, heraldSrc: options.heraldSrc })],
    execArgv,
  );
  let nextId = 1;
  const waiting = new Map<
    number,
    { resolve: (value: never) => void; reject: (e: Error) => void }
  >();
  const ready = new Promise<ServerReady>((resolve, reject) => {
    child.once("exit", (code) =>
      reject(new Error(`the ${system} server exited (${code}) before it was ready`)),
    );
    child.on("message", (message: { op?: string; id?: number; error?: string }) => {
      if (message.op === "ready") resolve(message as ServerReady);
      else if (message.id !== undefined) {
        const waiter = waiting.get(message.id);
        waiting.delete(message.id);
        if (message.error) waiter?.reject(new Error(message.error));
        else waiter?.resolve(message as never);
      }
    });
  });
  const { port, token } = await ready;
  const handle: ServerHandle = {
    system,
    child,
    port,
    token,
    call(command) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve: resolve as (value: never) => void, reject });
        child.send({ ...command, id });
      });
    },
    tell(command) {
      if (child.connected) child.send(command);
    },
    stats: () => handle.call<ServerStats>({ op: "stats" }),
    memory: () => handle.call<MemoryReport>({ op: "memory" }),
    async stop() {
      if (child.connected) child.send({ op: "exit" });
      await exited(child, 5000);
    },
  };
  return handle;
}

export interface ClientHandle {
  child: ChildProcess;
  setup: ClientSetup;
  connected: Promise<{ open: number; failed: number; errors: string[] }>;
  /** The next message of this kind. */
  next<K extends ClientMessage["op"]>(op: K): Promise<Extract<ClientMessage, { op: K }>>;
  command(command: ClientCommand): void;
  report(command?: ClientCommand): Promise<ClientReport>;
  onProgress(listener: (minN: number) => void): void;
  stop(): Promise<void>;
}

export function startClient(setup: ClientSetup): ClientHandle {
  const child = forkTs(CLIENT, []);
  const waiters = new Map<string, Array<(message: ClientMessage) => void>>();
  const failures = new Set<(error: Error) => void>();
  child.once("exit", () => {
    for (const fail of failures) fail(new Error("a load generator process exited"));
  });
  let progress: (minN: number) => void = () => {};
  child.on("message", (message: ClientMessage) => {
    if (message.op === "progress") {
      progress(message.minN);
      return;
    }
    const list = waiters.get(message.op);
    const waiter = list?.shift();
    waiter?.(message);
  });
  const handle: ClientHandle = {
    child,
    setup,
    connected: undefined as never,
    next(op) {
      return new Promise((resolve, reject) => {
        const list = waiters.get(op) ?? [];
        list.push((message) => {
          failures.delete(reject);
          resolve(message as never);
        });
        waiters.set(op, list);
        failures.add(reject);
      });
    },
    command(command) {
      if (child.connected) child.send(command);
    },
    async report(command = { op: "report" }) {
      const reply = handle.next("report");
      handle.command(command);
      return reply;
    },
    onProgress(listener) {
      progress = listener;
    },
    async stop() {
      handle.command({ op: "exit" });
      await exited(child, 3000);
    },
  };
  handle.connected = handle.next("connected");
  handle.command({ op: "setup", setup });
  return handle;
}

export interface PublisherHandle {
  /** Sends a command and resolves with the report it answers with. */
  call(command: PublisherCommand): Promise<PublisherReport>;
  stop(): Promise<void>;
}

/** The HTTP publisher process (`http-publisher.ts`), publishing as `setup` says. */
export async function startHttpPublisher(
  setup: Extract<PublisherCommand, { op: "setup" }>,
): Promise<PublisherHandle> {
  const child = forkTs(HTTP_PUBLISHER, []);
  const waiting: Array<{ resolve: (report: PublisherReport) => void; reject: (e: Error) => void }> =
    [];
  child.on("message", (report: PublisherReport) => waiting.shift()?.resolve(report));
  child.once("exit", () => {
    for (const waiter of waiting.splice(0)) waiter.reject(new Error("the HTTP publisher exited"));
  });
  const handle: PublisherHandle = {
    call(command) {
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.send(command);
      });
    },
    async stop() {
      if (child.connected) child.send({ op: "exit" });
      await exited(child, 3000);
    },
  };
  await handle.call(setup);
  return handle;
}

let lastAddress = 1;

/**
 * A loopback source address of its own for each generator process (127.0.0.2, …): each has
 * its own 28,000 ephemeral ports, and the TIME_WAIT left by one scenario never blocks the next.
 */
export function nextLocalAddress(): string {
  do lastAddress++;
  while ((lastAddress & 255) === 0 || (lastAddress & 255) === 255);
  return `127.${(lastAddress >> 16) & 255}.${(lastAddress >> 8) & 255}.${lastAddress & 255}`;
}
