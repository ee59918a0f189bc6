import type { ReactNode } from "react";
import { shortTime, statusLabel } from "../format.ts";
import type { Activity } from "../hooks/use-activity.ts";
import { Link } from "./link.tsx";

export function ActivityPanel({ activity }: { activity: Activity }): ReactNode {
  return (
    <section className="activity" aria-labelledby="activity-title">
      <header className="section-header">
        <h2 id="activity-title">Activity</h2>
        <p className="section-count">Across your tabs</p>
      </header>
      {activity.error ? <p className="card-error">{activity.error}</p> : null}
      {activity.items.length === 0 ? (
        <p className="muted activity-empty">
          Your generations show up here as they start and finish, from every tab.
        </p>
      ) : (
        <ol className="activity-list" aria-label="Recent tasks">
          {activity.items.map((item) => (
            <li
              key={item.taskId}
              className="activity-item"
              data-task-id={item.taskId}
              data-status={item.status}
            >
              <span className={`activity-kind kind-${item.kind}`} aria-hidden="true">
                {item.kind === "image" ? "IMG" : "VID"}
              </span>
              <div className="activity-text">
                <Link to={`/tools/${item.kind}-generator`} className="activity-prompt">
                  {item.prompt ?? (item.prompt === null ? "(deleted)" : "…")}
                </Link>
                <span className="activity-meta">
                  <span className={`badge badge-${item.status}`}>{statusLabel(item.status)}</span>
                  <span>{item.kind === "image" ? "Image" : "Video"}</span>
                  {item.at ? (
                    <time dateTime={new Date(item.at).toISOString()}>
                      {shortTime(new Date(item.at).toISOString())}
                    </time>
                  ) : null}
                </span>
              </div>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
