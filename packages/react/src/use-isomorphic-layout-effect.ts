import { useEffect, useLayoutEffect } from "react";

/**
 * `useLayoutEffect` in a browser, `useEffect` on the server, where React 18 warns about layout
 * effects and there is nothing to update. For refs that must hold the latest props before any
 * event can read them.
 */
export const useIsomorphicLayoutEffect =
  typeof document === "undefined" ? useEffect : useLayoutEffect;
