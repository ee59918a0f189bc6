/**
 * What a peer of the bench pays to add the `channel` and `ts` Herald's hub adds to a message:
 * a spread copy (`{ ...message, channel, ts }`, what the peers did until 2026-12-08) against the
 * splice into the message's JSON that they do now (`stamped`, bench/lib/shared.ts), for the
 * generation scenario's messages on 5,000 channels. Building each message is in both.
 *
 *   npx tsx bench/micro/peer-stamp.ts [events=300000]
 */
import { progressMessage, stamped } from "../lib/shared.ts";
import { timed } from "./timed.ts";

const events = Number(process.argv[2] ?? 300_000);
let bytes = 0;

function spread(message: Record<string, unknown>, channel: string): string {
  return JSON.stringify({ ...message, channel, ts: Date.now() });
}

for (const [label, stamp] of [
  ["a spread copy, then JSON", spread],
  ["JSON, then the fields spliced in (stamped)", stamped],
] as const) {
  await timed(label, events, () => {
    for (let i = 0; i < events; i++) {
      bytes += stamp(progressMessage(i, `f${i % 5000}`), `file.f${i % 5000}`).length;
    }
  });
}
// Read, so that no engine can drop the work as unused.
process.stdout.write(`(${bytes} bytes of JSON made)\n`);
