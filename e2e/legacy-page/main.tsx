/**
 * The test page: one provider, and the call sites mounted by the test through
 * `window.legacyPage.mount(scenario, props)`. `?path=` points the provider's stream at an
 * app's own route (the one option a page behind a proxy changes).
 */
import { HeraldProvider } from "@herald/react";
import { type ComponentProps, StrictMode, useState } from "react";
import { createRoot } from "react-dom/client";
import { Chat, ImageArtifact, ImageViewer, VideoArtifact, VideoGenerator } from "./call-sites.tsx";

interface Scenarios {
  image: ComponentProps<typeof ImageArtifact>;
  video: ComponentProps<typeof VideoGenerator>;
  artifact: ComponentProps<typeof VideoArtifact>;
  chat: ComponentProps<typeof Chat>;
  viewers: { fileId: string; count: number };
}

type Shown = { [K in keyof Scenarios]: { scenario: K; props: Scenarios[K] } }[keyof Scenarios];

declare global {
  interface Window {
    legacyPage: {
      mount<K extends keyof Scenarios>(scenario: K, props: Scenarios[K]): void;
      unmount(): void;
    };
  }
}

function Scenario({ shown }: { shown: Shown }) {
  switch (shown.scenario) {
    case "image":
      return <ImageArtifact {...shown.props} />;
    case "video":
      return <VideoGenerator {...shown.props} />;
    case "artifact":
      return <VideoArtifact {...shown.props} />;
    case "chat":
      return <Chat {...shown.props} />;
    case "viewers":
      return (
        <>
          {Array.from({ length: shown.props.count }, (_, index) => (
            <ImageViewer key={String(index)} fileId={shown.props.fileId} index={index} />
          ))}
        </>
      );
  }
}

function Page() {
  const [shown, setShown] = useState<Shown | null>(null);
  window.legacyPage = {
    mount: (scenario, props) => setShown({ scenario, props } as Shown),
    unmount: () => setShown(null),
  };
  return <main data-testid="page">{shown ? <Scenario shown={shown} /> : null}</main>;
}

const path = new URLSearchParams(location.search).get("path") ?? undefined;
const root = document.getElementById("root");
if (!root) throw new Error("the test page has no #root element");
createRoot(root).render(
  <StrictMode>
    <HeraldProvider options={path ? { path } : {}}>
      <Page />
    </HeraldProvider>
  </StrictMode>,
);
