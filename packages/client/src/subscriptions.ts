/**
 * What both kinds of client (`events-client.ts`, `shared-stream.ts`) do alike: check a
 * subscription, keep it in its channel's set, drop what a cursor already covers, hand a message
 * to a channel's handlers, and report errors nobody else hears of.
 */
import { type Cursor, channelProblem, type Message } from "@herald/protocol";
import { describeError, HeraldClientError } from "./errors.ts";
import type { MessageHandler, SubscribeOptions } from "./events-client.ts";

export interface Subscription {
  readonly channel: string;
  readonly handler: MessageHandler;
  readonly types: ReadonlySet<string> | undefined;
  active: boolean;
  /** Asked `from: "start"` and waiting for a stream that replays its channel's history. */
  history: boolean;
}

/** A subscription, once `subscribe`'s arguments are checked; throws what the caller did wrong. */
export function newSubscription(
  channel: string,
  handler: MessageHandler,
  options: SubscribeOptions,
  closed: boolean,
  channelKinds: readonly string[],
): Subscription {
  if (closed) {
    throw new HeraldClientError(
      "client_closed",
      "this events client was closed: create another with createEventsClient() to subscribe again",
    );
  }
  const problem = channelProblem(channel, channelKinds);
  if (problem) throw new HeraldClientError("invalid_channel", `cannot subscribe: ${problem}`);
  if (typeof handler !== "function") {
    throw new HeraldClientError(
      "invalid_options",
      `subscribe("${channel}", handler) needs a function as handler`,
    );
  }
  if (options.from !== undefined && options.from !== "start") {
    throw new HeraldClientError(
      "invalid_options",
      `subscribe("${channel}", handler, { from }) takes from: "start" or no from, not ${JSON.stringify(options.from)}`,
    );
  }
  return {
    channel,
    handler,
    types: options.types ? new Set(options.types) : undefined,
    active: true,
    history: options.from === "start",
  };
}

/** The subscriptions of each channel: a channel is in it while it has at least one. */
export type SubscriptionsByChannel = Map<string, Set<Subscription>>;

/** Adds `subscription` to its channel's set; `true` when it is the channel's first. */
export function addSubscription(
  byChannel: SubscriptionsByChannel,
  subscription: Subscription,
): boolean {
  const subscriptions = byChannel.get(subscription.channel);
  if (subscriptions) {
    subscriptions.add(subscription);
    return false;
  }
  byChannel.set(subscription.channel, new Set([subscription]));
  return true;
}

/**
 * Ends `subscription` (an unsubscribe called twice does nothing the second time) and takes it
 * out of its channel's set; `true` when it was the channel's last.
 */
export function removeSubscription(
  byChannel: SubscriptionsByChannel,
  subscription: Subscription,
): boolean {
  subscription.active = false;
  const subscriptions = byChannel.get(subscription.channel);
  subscriptions?.delete(subscription);
  if (subscriptions?.size !== 0) return false;
  byChannel.delete(subscription.channel);
  return true;
}

/** Whether an event at `position` is at or before `cursor`: a duplicate (section 3). */
export function alreadySeen(position: Cursor | undefined, cursor: Cursor | undefined): boolean {
  return Boolean(
    position && cursor && position.epoch === cursor.epoch && position.seq <= cursor.seq,
  );
}

/** Hands a message to a channel's subscriptions; a handler that throws is reported, not fatal. */
export function dispatchMessage(
  subscriptions: ReadonlySet<Subscription> | undefined,
  message: Message,
  isReset: boolean,
  id: string | undefined,
  report: (error: HeraldClientError) => void,
  replayed = false,
): void {
  if (!subscriptions) return;
  const meta = replayed ? { id, replayed } : { id };
  // A copy: a handler may subscribe or unsubscribe while we walk the set.
  for (const subscription of [...subscriptions]) {
    if (!subscription.active) continue;
    if (!isReset && subscription.types && !subscription.types.has(message.type)) continue;
    try {
      subscription.handler(message, meta);
    } catch (error) {
      report(
        new HeraldClientError(
          "handler_failed",
          `a handler of ${message.channel} threw on a "${message.type}" message: ${describeError(error)}`,
          { cause: error },
        ),
      );
    }
  }
}

export function createReporter(
  onError: ((error: HeraldClientError) => void) | undefined,
): (error: HeraldClientError) => void {
  return (error) => {
    if (!onError) {
      console.error(error);
      return;
    }
    try {
      onError(error);
    } catch (thrown) {
      console.error(
        new HeraldClientError("handler_failed", `onError threw: ${describeError(thrown)}`, {
          cause: thrown,
        }),
      );
      console.error(error);
    }
  };
}
