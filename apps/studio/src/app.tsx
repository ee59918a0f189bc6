/** The shell: header with navigation and the connection indicator, the page, the activity. */
import { type ReactNode, useEffect } from "react";
import { ActivityPanel } from "./components/activity-panel.tsx";
import { ConnectionIndicator } from "./components/connection-indicator.tsx";
import { Link } from "./components/link.tsx";
import { useActivity } from "./hooks/use-activity.ts";
import { useConnection } from "./hooks/use-connection.ts";
import { usePathname } from "./hooks/use-route.ts";
import { useSession } from "./hooks/use-session.tsx";
import { HomePage } from "./pages/home-page.tsx";
import { ImageGeneratorPage } from "./pages/image-generator-page.tsx";
import { NotFoundPage } from "./pages/not-found-page.tsx";
import { VideoGeneratorPage } from "./pages/video-generator-page.tsx";

const PAGES: Record<string, { title: string; render: () => ReactNode }> = {
  "/": { title: "Herald Studio", render: () => <HomePage /> },
  "/tools/image-generator": {
    title: "Image Generator · Herald Studio",
    render: () => <ImageGeneratorPage />,
  },
  "/tools/video-generator": {
    title: "Video Generator · Herald Studio",
    render: () => <VideoGeneratorPage />,
  },
};

export function App(): ReactNode {
  const pathname = usePathname().replace(/\/+$/, "") || "/";
  const page = PAGES[pathname];
  const connection = useConnection();
  const activity = useActivity();
  const session = useSession();

  useEffect(() => {
    document.title = page?.title ?? "Not found · Herald Studio";
  }, [page]);

  return (
    <div className="shell">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <Link to="/" className="brand">
            <span className="brand-mark" aria-hidden="true" />
            Herald Studio
          </Link>
          <nav aria-label="Tools" className="nav">
            <Link to="/tools/image-generator" className="nav-link">
              Image
            </Link>
            <Link to="/tools/video-generator" className="nav-link">
              Video
            </Link>
          </nav>
          <ConnectionIndicator connection={connection} />
        </div>
      </header>
      <div className="layout">
        <main id="main" className="content" tabIndex={-1}>
          {session.error ? (
            <div className="panel session-error" role="alert">
              <p>Could not start a session: {session.error}</p>
              <button type="button" className="button" onClick={session.retry}>
                Try again
              </button>
            </div>
          ) : null}
          {page ? page.render() : <NotFoundPage />}
        </main>
        <aside className="sidebar">
          <ActivityPanel activity={activity} />
        </aside>
      </div>
    </div>
  );
}
