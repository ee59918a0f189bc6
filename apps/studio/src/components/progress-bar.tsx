import type { ReactNode } from "react";
import { percent, stageLabel, timeLeft } from "../format.ts";

export function ProgressBar({
  progress,
  stage,
  message,
  etaMs,
  label,
  queued,
}: {
  progress: number;
  stage: string | undefined;
  message: string | undefined;
  etaMs: number | undefined;
  label: string;
  queued: boolean;
}): ReactNode {
  const value = percent(progress);
  const stageText = queued
    ? "Waiting for a free renderer"
    : (message ?? stageLabel(stage) ?? "Starting");
  const left = queued ? undefined : timeLeft(etaMs);
  return (
    <div className="progress">
      <div
        className="progress-track"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={value}
        aria-valuetext={`${value}%, ${stageText}`}
      >
        <div className="progress-fill" style={{ width: `${value}%` }} />
      </div>
      <div className="progress-meta">
        <span className="progress-stage">{stageText}</span>
        <span className="progress-numbers">
          {value}%{left ? ` · ${left}` : ""}
        </span>
      </div>
    </div>
  );
}
