// app/generation-demo.tsx
"use client";

import { useEffect, useState } from "react";
import { GenerationProgress } from "./generation-progress";
import { LegacyProgress } from "./legacy-progress";

export function GenerationDemo() {
  const [signedIn, setSignedIn] = useState(false);
  const [fileId, setFileId] = useState<string>();
  const [problem, setProblem] = useState<string>();

  // The token route sets the herald_token cookie that the page's EventSource sends.
  useEffect(() => {
    fetch("/api/token", { method: "POST" }).then(
      (response) => (response.ok ? setSignedIn(true) : setProblem(`sign-in: ${response.status}`)),
      (error: unknown) => setProblem(`sign-in: ${error}`),
    );
  }, []);

  async function generate() {
    const response = await fetch("/api/generate", { method: "POST" });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error?.message ?? `status ${response.status}`);
    setFileId(body.fileId);
  }

  return (
    <>
      <button
        type="button"
        disabled={!signedIn}
        onClick={() => {
          setProblem(undefined);
          generate().catch((error: unknown) => setProblem(`generate: ${error}`));
        }}
      >
        Generate
      </button>
      {problem ? <p role="alert">{problem}</p> : null}
      {fileId ? (
        <div className="followers" key={fileId}>
          <GenerationProgress fileId={fileId} />
          <LegacyProgress fileId={fileId} />
        </div>
      ) : null}
    </>
  );
}
