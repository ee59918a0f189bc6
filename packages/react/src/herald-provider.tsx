/**
 * `<HeraldProvider>` puts one events client in React context, and `useEventsClient()` reads it.
 * The client is created once per provider (as TanStack Query's `QueryClientProvider` is meant to
 * be used): every hook below shares its one multiplexed stream.
 *
 * On the server (Next.js renders client components there too) the provider makes no client: the
 * page has nothing to connect from there, and a client without `baseUrl` cannot be made outside
 * a browser. It makes one on its first render in the browser; until then `useChannel` holds no
 * subscription and `useConnectionState` says "idle", as a fresh client does, so hydration
 * matches.
 */
import { createEventsClient, type EventsClient, type EventsClientOptions } from "@herald/client";
import { createContext, type ReactNode, useContext, useEffect, useMemo, useRef } from "react";
import { HeraldReactError } from "./errors.ts";

/** The client's own default for `backoff.maxAttempts`: it never gives up. */
const CLIENT_DEFAULT_MAX_ATTEMPTS = Number.POSITIVE_INFINITY;

export interface HeraldContextValue {
  /** `null` during server rendering, where a provider makes no client. */
  readonly client: EventsClient | null;
  /** Failures in a row after which the client gives up: what the WebSocket-era hooks report. */
  readonly maxAttempts: number;
}

const HeraldContext = createContext<HeraldContextValue | null>(null);
HeraldContext.displayName = "HeraldContext";

export type HeraldProviderProps =
  | {
      /** A client made by the caller, who also closes it. */
      client: EventsClient;
      /**
       * The `backoff.maxAttempts` that client was made with, for the hooks' `maxAttempts`
       * (a client does not tell its options). Default Infinity, the client's default.
       */
      maxAttempts?: number;
      options?: never;
      children?: ReactNode;
    }
  | {
      client?: never;
      maxAttempts?: never;
      /**
       * Options of the client the provider makes on its first render in a browser (none is made
       * during server rendering) and closes once it unmounts. Read once: later changes are
       * ignored (give the provider a `key` to start over).
       */
      options?: EventsClientOptions;
      children?: ReactNode;
    };

interface OwnedClient {
  readonly client: EventsClient;
  readonly maxAttempts: number;
}

export function HeraldProvider(props: HeraldProviderProps): ReactNode {
  const { client: given, options, children } = props;
  const ownedRef = useRef<OwnedClient | null>(null);
  // Lazy initialisation of a ref, as React's docs allow: one client per provider, not per render;
  // and only in a browser, never while rendering on a server.
  if (!given && ownedRef.current === null && isBrowser()) {
    ownedRef.current = {
      client: createEventsClient(options),
      maxAttempts: options?.backoff?.maxAttempts ?? CLIENT_DEFAULT_MAX_ATTEMPTS,
    };
  }
  const owned = given ? null : ownedRef.current;
  useCloseOnUnmount(owned, ownedRef);

  const client = given ?? owned?.client;
  const maxAttempts = given
    ? (props.maxAttempts ?? CLIENT_DEFAULT_MAX_ATTEMPTS)
    : // On the server there is no client, but the page must render the same as in the browser.
      (owned?.maxAttempts ?? options?.backoff?.maxAttempts ?? CLIENT_DEFAULT_MAX_ATTEMPTS);
  const value = useMemo(() => ({ client: client ?? null, maxAttempts }), [client, maxAttempts]);
  return <HeraldContext.Provider value={value}>{children}</HeraldContext.Provider>;
}

/**
 * Closes the provider's own client once the provider is gone. The close waits a microtask:
 * StrictMode unmounts and mounts every effect again within one synchronous commit, and closing
 * then would leave the children subscribing to a closed client.
 */
function useCloseOnUnmount(
  owned: OwnedClient | null,
  ownedRef: { current: OwnedClient | null },
): void {
  const pendingCloseRef = useRef<{ cancelled: boolean } | null>(null);
  useEffect(() => {
    if (!owned) return;
    if (pendingCloseRef.current) pendingCloseRef.current.cancelled = true;
    pendingCloseRef.current = null;
    return () => {
      const pending = { cancelled: false };
      pendingCloseRef.current = pending;
      queueMicrotask(() => {
        if (pending.cancelled) return;
        owned.client.close();
        // A provider that comes back (a switch back from `client` to `options`) makes a new one.
        if (ownedRef.current === owned) ownedRef.current = null;
      });
    };
  }, [owned, ownedRef]);
}

/** Read at render time, not at import: a module may be loaded on a server and used in a browser. */
function isBrowser(): boolean {
  return typeof document !== "undefined";
}

/** The provider's context; throws where there is none. */
export function useHeraldContext(hookName: string): HeraldContextValue {
  const value = useContext(HeraldContext);
  if (!value) {
    throw new HeraldReactError(
      "no_provider",
      `${hookName}() needs a <HeraldProvider> above it and found none: wrap the component tree in <HeraldProvider options={{ baseUrl }}> (or client={client}) from @herald/react`,
    );
  }
  return value;
}

/**
 * The events client of the nearest `<HeraldProvider>`. In a browser only: during server
 * rendering there is none, and this throws `no_client_on_server` (read it in a component that
 * renders in the browser only, or use `useChannel` and `useConnectionState`, which render on the
 * server too).
 */
export function useEventsClient(): EventsClient {
  const { client } = useHeraldContext("useEventsClient");
  if (!client) {
    throw new HeraldReactError(
      "no_client_on_server",
      "useEventsClient() ran during server rendering, where <HeraldProvider> makes no client (it makes one in the browser): call it only in components rendered in the browser, or use useChannel() and useConnectionState(), which also render on the server",
    );
  }
  return client;
}
