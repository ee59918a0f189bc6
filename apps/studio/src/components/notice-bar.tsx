import type { ReactNode } from "react";
import type { Notice } from "../hooks/use-generations.ts";

/** Always in the page, so screen readers hear what is put in it. */
export function NoticeBar({
  notice,
  onDismiss,
}: {
  notice: Notice | undefined;
  onDismiss: () => void;
}): ReactNode {
  return (
    <div className={`notice ${notice ? `notice-${notice.kind}` : "notice-empty"}`} role="status">
      {notice ? (
        <>
          <span>{notice.text}</span>
          <button type="button" className="notice-close" onClick={onDismiss} aria-label="Dismiss">
            ×
          </button>
        </>
      ) : null}
    </div>
  );
}
