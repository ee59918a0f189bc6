import { type ReactNode, useState } from "react";
import { fileExtension, percent, shortTime, statusLabel } from "../format.ts";
import type { Generation } from "../generation-state.ts";
import { ProgressBar } from "./progress-bar.tsx";

export interface CardActions {
  onCancel(id: string): Promise<void>;
  onDelete(id: string): Promise<void>;
  onCopyLink(id: string): Promise<void>;
}

export function GenerationCard({
  generation,
  actions,
}: {
  generation: Generation;
  actions: CardActions;
}): ReactNode {
  const { id, type, status, url, prompt } = generation;
  const running = status === "pending" || status === "in_progress";
  const noun = type === "image" ? "Image" : "Video";
  const [busy, setBusy] = useState<"cancel" | "delete">();

  const run = (what: "cancel" | "delete", action: (id: string) => Promise<void>) => () => {
    setBusy(what);
    action(id).finally(() => setBusy(undefined));
  };

  return (
    <article
      className={`card status-${status}`}
      aria-label={`${noun}: ${prompt}`}
      data-file-id={id}
      data-status={status}
    >
      <div className="card-media">
        {url && type === "image" ? (
          <img src={url} alt={prompt} loading="lazy" />
        ) : url && type === "video" ? (
          // biome-ignore lint/a11y/useMediaCaption: generated clips have no speech to caption.
          <video src={url} controls loop playsInline preload="metadata" aria-label={prompt} />
        ) : (
          <div className={`card-placeholder ${running ? "is-running" : ""}`} aria-hidden="true">
            {running && status === "in_progress" ? (
              <span className="card-placeholder-value">{percent(generation.progress)}%</span>
            ) : null}
            <span>{statusLabel(status)}</span>
          </div>
        )}
      </div>

      <div className="card-body">
        <p className="card-prompt" title={prompt}>
          {prompt}
        </p>
        <p className="card-status">
          <span className={`badge badge-${status}`}>{statusLabel(status)}</span>
          <time dateTime={generation.createdAt}>{shortTime(generation.createdAt)}</time>
        </p>
        <p className="card-meta">{describeSettings(generation)}</p>

        {running || (url === undefined && status === "completed") ? (
          <ProgressBar
            progress={generation.progress}
            stage={generation.stage}
            message={generation.message}
            etaMs={generation.etaMs}
            queued={status === "pending"}
            label={`Progress of “${prompt}”`}
          />
        ) : null}

        {status === "error" ? (
          <p className="card-error" role="alert">
            {generation.error ?? "The render failed."}
          </p>
        ) : null}
        {status === "cancelled" ? (
          <p className="card-note">Cancelled at {Math.round(generation.progress * 100)}%.</p>
        ) : null}

        <div className="card-actions">
          {running ? (
            <button
              type="button"
              className="button button-small"
              onClick={run("cancel", actions.onCancel)}
              disabled={busy !== undefined}
            >
              {busy === "cancel" ? "Cancelling…" : "Cancel"}
            </button>
          ) : null}
          {url ? (
            <>
              <a
                className="button button-small"
                href={url}
                download={`herald-${id}.${fileExtension(generation.contentType, type)}`}
              >
                Download
              </a>
              <button
                type="button"
                className="button button-small"
                onClick={() => void actions.onCopyLink(id)}
              >
                Copy link
              </button>
            </>
          ) : null}
          {running ? null : (
            <button
              type="button"
              className="button button-small button-quiet"
              onClick={run("delete", actions.onDelete)}
              disabled={busy !== undefined}
              aria-label={`Delete ${noun.toLowerCase()} “${prompt}”`}
            >
              {busy === "delete" ? "Deleting…" : "Delete"}
            </button>
          )}
        </div>
      </div>
    </article>
  );
}

function describeSettings(generation: Generation): string {
  const { settings } = generation;
  const parts = [settings.resolution ?? `${generation.width}x${generation.height}`];
  if (settings.style)
    parts.unshift(settings.style.charAt(0).toUpperCase() + settings.style.slice(1));
  if (generation.type === "video") {
    if (settings.durationS !== undefined) parts.push(`${settings.durationS} s`);
    if (settings.frameRate !== undefined) parts.push(`${settings.frameRate} fps`);
  }
  if (settings.seed !== undefined) parts.push(`seed ${settings.seed}`);
  return parts.join(" · ");
}
