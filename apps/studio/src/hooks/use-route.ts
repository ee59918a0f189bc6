/**
 * Client-side routing over the History API: three pages do not need a router library. The
 * server answers every /tools/* path with the same index.html, so any of them can be reloaded.
 */
import { type MouseEvent, useCallback, useSyncExternalStore } from "react";

const NAVIGATE = "herald:navigate";

function subscribe(onChange: () => void): () => void {
  window.addEventListener("popstate", onChange);
  window.addEventListener(NAVIGATE, onChange);
  return () => {
    window.removeEventListener("popstate", onChange);
    window.removeEventListener(NAVIGATE, onChange);
  };
}

const currentPath = () => window.location.pathname;

export function usePathname(): string {
  return useSyncExternalStore(subscribe, currentPath, () => "/");
}

export function navigate(path: string): void {
  if (path === window.location.pathname) return;
  window.history.pushState(null, "", path);
  window.dispatchEvent(new Event(NAVIGATE));
  window.scrollTo({ top: 0 });
}

/**
 * An onClick for links: plain clicks navigate inside the page; a click with a modifier (a new
 * tab, a download) is left to the browser.
 */
export function useLinkClick(path: string): (event: MouseEvent<HTMLAnchorElement>) => void {
  return useCallback(
    (event: MouseEvent<HTMLAnchorElement>) => {
      if (event.defaultPrevented || event.button !== 0) return;
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      navigate(path);
    },
    [path],
  );
}
