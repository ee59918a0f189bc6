import type { ReactNode } from "react";
import { Link } from "../components/link.tsx";

const TOOLS = [
  {
    path: "/tools/image-generator",
    name: "Image Generator",
    text: "Turn a prompt into a picture in the style you choose, and watch it being painted.",
    mark: "IMG",
  },
  {
    path: "/tools/video-generator",
    name: "Video Generator",
    text: "A short clip from a prompt or from one of your images, frame by frame, live.",
    mark: "VID",
  },
] as const;

const FEATURES = [
  {
    title: "Live progress",
    text: "Every render shows its stage and the time left while it runs.",
  },
  {
    title: "Nothing lost",
    text: "Lose the network or reload mid-render: the bar carries on from where it was.",
  },
  {
    title: "Every tab in step",
    text: "The activity panel follows your renders across tools and tabs.",
  },
] as const;

export function HomePage(): ReactNode {
  return (
    <div className="home">
      <section className="hero">
        <h1>Make something, and watch it come to life.</h1>
        <p className="muted">
          Every generation reports its progress live. Close the tab, lose the network or reload: it
          carries on where it was.
        </p>
      </section>
      <section aria-labelledby="tools-title">
        <h2 id="tools-title" className="visually-hidden">
          Tools
        </h2>
        <ul className="tool-list">
          {TOOLS.map((tool) => (
            <li key={tool.path}>
              <Link to={tool.path} className="tool-card">
                <span
                  className={`tool-mark kind-${tool.mark === "IMG" ? "image" : "video"}`}
                  aria-hidden="true"
                >
                  {tool.mark}
                </span>
                <span className="tool-name">{tool.name}</span>
                <span className="tool-text">{tool.text}</span>
                <span className="tool-go" aria-hidden="true">
                  Open →
                </span>
              </Link>
            </li>
          ))}
        </ul>
      </section>
      <ul className="features" aria-label="What to expect">
        {FEATURES.map((feature) => (
          <li key={feature.title}>
            <h3>{feature.title}</h3>
            <p className="muted">{feature.text}</p>
          </li>
        ))}
      </ul>
    </div>
  );
}
