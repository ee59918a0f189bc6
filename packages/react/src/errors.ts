/**
 * The one error type of `@herald/react`. Transport errors stay the client's
 * (`HeraldClientError`): this package only reports what a page did wrong with the bindings,
 * and what a page's own callback threw.
 */

export type ReactErrorCode =
  /** A hook that needs the events client ran outside `<HeraldProvider>`. */
  | "no_provider"
  /** A callback the page gave a hook (a chat hook's `onMessageUpdated`) threw or rejected. */
  | "callback_failed"
  /** `useEventsClient()` ran during server rendering, where the provider makes no client. */
  | "no_client_on_server";

export class HeraldReactError extends Error {
  override readonly name = "HeraldReactError";
  readonly code: ReactErrorCode;

  constructor(code: ReactErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
