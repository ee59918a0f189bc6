// app/generation-progress.tsx
"use client";

import { useChannel } from "@herald/react";
import { useState } from "react";

/** A generation followed with Herald's hook: its progress, then its result. */
export function GenerationProgress({ fileId }: { fileId: string }) {
  const [progress, setProgress] = useState(0);
  const [url, setUrl] = useState<string>();
  const connection = useChannel(`file.${fileId}`, (message) => {
    if (message.type === "render_progress") setProgress(Number(message.object?.progress));
    if (message.type === "render_result") setUrl(String(message.object?.url));
  });

  return (
    <section aria-label="useChannel">
      <h2>useChannel</h2>
      <progress value={progress} aria-label="Progress" /> {Math.round(progress * 100)}%
      {url ? <img src={url} alt="Result" width={256} height={256} /> : null}
      <p>Stream: {connection.status}</p>
    </section>
  );
}
