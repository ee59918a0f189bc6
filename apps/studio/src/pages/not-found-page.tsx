import type { ReactNode } from "react";
import { Link } from "../components/link.tsx";

export function NotFoundPage(): ReactNode {
  return (
    <section className="panel not-found">
      <h1>Nothing here</h1>
      <p className="muted">This page does not exist.</p>
      <Link to="/" className="button">
        Back to the tools
      </Link>
    </section>
  );
}
