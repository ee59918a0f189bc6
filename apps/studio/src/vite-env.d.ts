/// <reference types="vite/client" />

interface ImportMetaEnv {
  readonly VITE_HERALD_API_URL?: string;
  readonly VITE_HERALD_EVENTS_URL?: string;
}
