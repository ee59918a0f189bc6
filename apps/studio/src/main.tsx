import { HeraldProvider } from "@herald/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app.tsx";
import { eventsClientOptions } from "./config.ts";
import { refreshSession, SessionProvider } from "./hooks/use-session.tsx";
import "./styles.css";

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root element");

createRoot(root).render(
  <StrictMode>
    <HeraldProvider options={eventsClientOptions(refreshSession)}>
      <SessionProvider>
        <App />
      </SessionProvider>
    </HeraldProvider>
  </StrictMode>,
);
