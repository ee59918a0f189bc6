/**
 * The visitor's session: `GET /api/v1/session` makes an anonymous user on a first visit and
 * sets the `herald_session` and `herald_token` cookies that every later call and the event
 * stream carry (docs/API.md, "Sessions"). Nothing that needs a user starts before it answers.
 */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useState } from "react";
import { api } from "../api.ts";

export interface SessionState {
  userId: string | undefined;
  /** Why the session could not be had, for a person. */
  error: string | undefined;
  retry(): void;
}

const SessionContext = createContext<SessionState | null>(null);

/** Sets a fresh `herald_token` cookie; the events client calls it on a 401. */
export async function refreshSession(): Promise<void> {
  await sessionOfThisBrowser();
}

/**
 * `GET /api/v1/session`, one tab at a time. Tabs opened at once on a first visit would each
 * make a user, the last cookie set would win, and the tabs holding the others' ids would be
 * refused their channels; in turn, the later ones carry the first one's cookie and get its user.
 */
function sessionOfThisBrowser(): ReturnType<typeof api.session> {
  // Optional: older browsers, and pages that take it away, have no Web Locks.
  const locks = (navigator as { locks?: LockManager }).locks;
  if (!locks) return api.session();
  return locks.request("herald-studio-session", () => api.session());
}

export function SessionProvider({ children }: { children: ReactNode }): ReactNode {
  const [userId, setUserId] = useState<string>();
  const [error, setError] = useState<string>();
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    // `attempt` is read so that retry() runs this again.
    if (attempt < 0) return;
    let live = true;
    sessionOfThisBrowser().then(
      (session) => {
        if (!live) return;
        setUserId(session.userId);
        setError(undefined);
      },
      (reason: unknown) => {
        if (live) setError(reason instanceof Error ? reason.message : String(reason));
      },
    );
    return () => {
      live = false;
    };
  }, [attempt]);

  const retry = useCallback(() => setAttempt((n) => n + 1), []);
  return (
    <SessionContext.Provider value={{ userId, error, retry }}>{children}</SessionContext.Provider>
  );
}

export function useSession(): SessionState {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession() needs <SessionProvider> above it");
  return session;
}
