import type { ReactNode } from "react";
import type { Connection } from "../hooks/use-connection.ts";

export function ConnectionIndicator({ connection }: { connection: Connection }): ReactNode {
  return (
    <div className="connection">
      <p
        className={`connection-pill tone-${connection.tone}`}
        role="status"
        aria-live="polite"
        title={connection.detail}
        data-testid="connection-indicator"
      >
        <span className="connection-dot" aria-hidden="true" />
        {connection.text}
      </p>
      {connection.canRetry ? (
        <button type="button" className="button button-small" onClick={connection.retry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}
