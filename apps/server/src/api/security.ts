/**
 * What keeps other sites out: state-changing API requests from another origin are refused
 * before any route runs (the session cookie is SameSite=Lax, which lets a same-site page on
 * another origin send it), and every answer carries the headers that stop sniffing, framing
 * and leaking the URL.
 */
import { HeraldError } from "@herald/protocol";
import type { FastifyInstance, FastifyRequest } from "fastify";

/**
 * The studio loads only its own scripts, styles and assets, talks only to its own server, and
 * is never framed. React sets `style` through the DOM, which a CSP without 'unsafe-inline'
 * allows; generated images and videos are served from `/files/` (same origin).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function registerSecurity(fastify: FastifyInstance): void {
  fastify.addHook("onRequest", async (request) => {
    if (!STATE_CHANGING.has(request.method) || !request.url.startsWith("/api/")) return;
    const problem = crossSiteProblem(request);
    if (problem) {
      throw new HeraldError(
        "forbidden",
        `${problem}: this API changes state only for pages of its own origin`,
      );
    }
  });

  fastify.addHook("onSend", async (request, reply) => {
    // Every answer: no MIME sniffing (a JSON error must never run as a page), no Referer
    // carrying ids to other sites.
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
    const type = String(reply.getHeader("content-type") ?? "");
    if (type.startsWith("text/html")) {
      reply.header("content-security-policy", CONTENT_SECURITY_POLICY);
      reply.header("x-frame-options", "DENY");
    }
    // API answers are the caller's own state (and the session answer holds a token): no cache
    // may keep them. /files/ sets its own long-lived caching.
    if (request.url.startsWith("/api/") && !reply.hasHeader("cache-control"))
      reply.header("cache-control", "no-store");
  });
}

/** Why a request comes from another site or origin, or `undefined` where it does not. */
function crossSiteProblem(request: FastifyRequest): string | undefined {
  const fetchSite = request.headers["sec-fetch-site"];
  if (fetchSite === "cross-site" || fetchSite === "same-site")
    return `a ${fetchSite} request (Sec-Fetch-Site)`;
  const origin = request.headers.origin;
  if (origin === undefined) return undefined; // curl, servers: no browser to forge with
  const own = `${request.protocol}://${request.host}`;
  if (origin.toLowerCase() !== own.toLowerCase())
    return `a request from another origin (Origin is not ${own})`;
  return undefined;
}
