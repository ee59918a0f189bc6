// app/legacy-progress.tsx
"use client";

import { type ImageEventHandler, useImageSSE } from "@herald/react";
import { useState } from "react";

/** The same generation, followed as a page written for the WebSocket-era hooks follows it. */
export function LegacyProgress({ fileId }: { fileId: string }) {
  const [progress, setProgress] = useState(0);
  const [status, setStatus] = useState("pending");
  const [imageUrl, setImageUrl] = useState<string>();

  const handler: ImageEventHandler = (message) => {
    if (message.type === "render_progress" && message.progress !== undefined) {
      setProgress(message.progress);
    }
    if (message.type === "task" && message.status) setStatus(message.status);
    if (message.type === "render_result") setImageUrl(message.object.url);
  };
  const { isConnected, connectionAttempts, maxAttempts } = useImageSSE({
    fileId,
    eventHandlers: [handler],
    enabled: status !== "completed",
  });

  return (
    <section aria-label="useImageSSE">
      <h2>useImageSSE</h2>
      <progress value={progress} aria-label="Progress" /> {Math.round(progress * 100)}%
      {imageUrl ? <img src={imageUrl} alt="Result" width={256} height={256} /> : null}
      <p>
        Task: {status} · {isConnected ? "connected" : "not connected"} · failed attempts{" "}
        {connectionAttempts} of {maxAttempts}
      </p>
    </section>
  );
}
