import type { ReactNode } from "react";
import type { Generations } from "../hooks/use-generations.ts";
import { GenerationCard } from "./generation-card.tsx";
import { NoticeBar } from "./notice-bar.tsx";

export function Gallery({
  title,
  noun,
  generations,
}: {
  title: string;
  noun: "image" | "video";
  generations: Generations;
}): ReactNode {
  const { items, loading, hasMore, loadingMore } = generations;
  const running = items.filter(
    (item) => item.status === "pending" || item.status === "in_progress",
  );
  return (
    <section className="gallery" aria-labelledby="gallery-title">
      <header className="section-header">
        <h2 id="gallery-title">{title}</h2>
        <p className="section-count">
          {loading
            ? "Loading…"
            : `${items.length}${hasMore ? "+" : ""} ${noun}${items.length === 1 ? "" : "s"}${
                running.length ? ` · ${running.length} in progress` : ""
              }`}
        </p>
      </header>
      <NoticeBar notice={generations.notice} onDismiss={generations.dismissNotice} />
      {!loading && items.length === 0 ? (
        <div className="empty">
          <p>No {noun}s yet.</p>
          <p className="muted">
            Write a prompt and press Generate: it shows up here as it renders.
          </p>
        </div>
      ) : (
        <div className="card-grid">
          {items.map((generation) => (
            <GenerationCard
              key={generation.id}
              generation={generation}
              actions={{
                onCancel: generations.cancel,
                onDelete: generations.remove,
                onCopyLink: generations.copyLink,
              }}
            />
          ))}
        </div>
      )}
      {hasMore ? (
        <div className="gallery-more">
          <button
            type="button"
            className="button"
            onClick={generations.loadMore}
            disabled={loadingMore}
          >
            {loadingMore ? "Loading…" : `Show more ${noun}s`}
          </button>
        </div>
      ) : null}
    </section>
  );
}
