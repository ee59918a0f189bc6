"use client";

import { HeraldProvider } from "@herald/react";
import type { ReactNode } from "react";

// A client component, so that the provider's options may hold functions (onError,
// onUnauthorized). It renders on the server too, where it creates nothing.
export function Providers({ children }: { children: ReactNode }) {
  return <HeraldProvider options={{ backoff: { maxAttempts: 10 } }}>{children}</HeraldProvider>;
}
