// app/providers.tsx
"use client";

import { HeraldProvider } from "@herald/react";
import type { ReactNode } from "react";

export function Providers({ children }: { children: ReactNode }) {
  // Same-origin by default: the stream opens on this app's /api/v1/events with its cookies.
  return <HeraldProvider options={{ backoff: { maxAttempts: 10 } }}>{children}</HeraldProvider>;
}
