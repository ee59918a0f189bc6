export type { Message, TypedMessage } from "@herald/protocol";
export type { BackoffOptions } from "./backoff.ts";
export type {
  ConnectionError,
  ConnectionState,
  ConnectionStatus,
  ConnectionStore,
} from "./connection-state.ts";
export type { ClientErrorCode } from "./errors.ts";
export { HeraldClientError } from "./errors.ts";
export type {
  EventSourceConstructor,
  EventSourceInitLike,
  EventSourceLike,
  HeadersProvider,
} from "./event-source.ts";
export type {
  EventsClient,
  EventsClientOptions,
  MessageHandler,
  MessageMeta,
  SubscribeOptions,
} from "./events-client.ts";
export { createEventsClient, DEFAULT_LINGER_MS, DEFAULT_PATH } from "./events-client.ts";
