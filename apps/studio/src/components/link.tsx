import type { ReactNode } from "react";
import { useLinkClick, usePathname } from "../hooks/use-route.ts";

export function Link({
  to,
  className,
  children,
}: {
  to: string;
  className?: string;
  children: ReactNode;
}): ReactNode {
  const onClick = useLinkClick(to);
  const current = usePathname() === to;
  return (
    <a
      href={to}
      className={className}
      onClick={onClick}
      aria-current={current ? "page" : undefined}
    >
      {children}
    </a>
  );
}
