/**
 * Who is asking (GENERATION_API.md, "Who is asking"): anonymous users with a signed session
 * cookie, or the same session token as a bearer header for clients that are not browsers.
 * Every session also gets the `herald_token` cookie for its event streams.
 */
import { randomUUID } from "node:crypto";
import type { Authenticator, JwtAuth, Principal } from "@herald/hub";
import { formatChannel, HeraldError } from "@herald/protocol";
import type { FastifyReply, FastifyRequest } from "fastify";
import { jwtVerify, SignJWT } from "jose";
import type { Database } from "./db/types.ts";
import { createRateLimiter } from "./rate-limit.ts";

export const SESSION_COOKIE = "herald_session";
export const EVENTS_COOKIE = "herald_token";
const SESSION_LIFETIME_S = 365 * 24 * 3600;
const EVENTS_TOKEN_LIFETIME_S = 24 * 3600;

export interface Sessions {
  /** The caller's user id, made (with its cookies) on a first visit. */
  userOf(request: FastifyRequest, reply: FastifyReply): Promise<string>;
  sessionToken(userId: string): Promise<string>;
  /** Sets the herald_token cookie for the user's event streams. */
  setEventsCookie(reply: FastifyReply, userId: string): Promise<void>;
  /** The hub's authenticator: event tokens, and session tokens as the same user. */
  authenticator: Authenticator;
}

export function userChannel(userId: string): string {
  return formatChannel("user", userId);
}

export function createSessions(options: {
  secret: string;
  eventsAuth: JwtAuth;
  db: Database;
  /** New sessions one client address may make per minute; 0 for no limit. */
  sessionsPerMinute: number;
}): Sessions {
  const key = new TextEncoder().encode(options.secret);
  const newSessions = createRateLimiter({ limit: options.sessionsPerMinute, windowMs: 60_000 });
  const { db, eventsAuth } = options;
  // Secure whenever the request came over HTTPS, directly or through a trusted proxy.
  const cookieBase = (reply: FastifyReply) => ({
    path: "/",
    httpOnly: true,
    sameSite: "lax" as const,
    secure: reply.request.protocol === "https",
  });

  async function verifySession(token: string): Promise<string> {
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ["HS256"],
        typ: "herald-session",
      });
      if (typeof payload.sub !== "string") throw new Error("no subject");
      return payload.sub;
    } catch (cause) {
      throw new HeraldError(
        "unauthorized",
        "the session token is not valid here: get a new one from GET /api/v1/session",
        { cause },
      );
    }
  }

  const sessions: Sessions = {
    async userOf(request, reply) {
      const authorization = request.headers.authorization;
      if (authorization?.toLowerCase().startsWith("bearer ")) {
        const userId = await verifySession(authorization.slice(7).trim());
        if (!(await db.getUser(userId))) {
          throw new HeraldError(
            "unauthorized",
            "the session has expired (it generated nothing for a day): get a new one from GET /api/v1/session",
          );
        }
        return userId;
      }
      const cookie = request.cookies[SESSION_COOKIE];
      if (cookie) {
        const userId = await verifySession(cookie).catch((error: unknown) => {
          // A cookie from another deployment or an old secret: start a new anonymous session.
          request.log.info({ reason: (error as Error).message }, "session cookie refused");
          return undefined;
        });
        if (userId && (await db.getUser(userId))) {
          if (!request.cookies[EVENTS_COOKIE]) await sessions.setEventsCookie(reply, userId);
          return userId;
        }
      }
      if (options.sessionsPerMinute > 0) {
        const wait = newSessions.take(request.ip);
        if (wait > 0) {
          reply.header("retry-after", String(wait));
          throw new HeraldError(
            "rate_limited",
            `this address has started ${options.sessionsPerMinute} sessions in the last minute, the most allowed: retry in ${wait} s, and keep the session you get (its cookie, or its token)`,
          );
        }
      }
      const user = await db.createUser(randomUUID());
      reply.setCookie(SESSION_COOKIE, await sessions.sessionToken(user.id), {
        ...cookieBase(reply),
        maxAge: SESSION_LIFETIME_S,
      });
      await sessions.setEventsCookie(reply, user.id);
      return user.id;
    },
    sessionToken(userId) {
      return new SignJWT({})
        .setProtectedHeader({ alg: "HS256", typ: "herald-session" })
        .setSubject(userId)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + SESSION_LIFETIME_S)
        .sign(key);
    },
    async setEventsCookie(reply, userId) {
      const token = await eventsAuth.sign({
        sub: userId,
        channels: [userChannel(userId)],
        expiresInS: EVENTS_TOKEN_LIFETIME_S,
      });
      reply.setCookie(EVENTS_COOKIE, token, {
        ...cookieBase(reply),
        maxAge: EVENTS_TOKEN_LIFETIME_S,
      });
    },
    authenticator: {
      async authenticate(token): Promise<Principal> {
        try {
          return await eventsAuth.authenticate(token);
        } catch (eventsError) {
          const userId = await verifySession(token).catch(() => {
            throw eventsError;
          });
          return { subject: userId, channels: [userChannel(userId)], publish: [] };
        }
      },
    },
  };
  return sessions;
}

/** The hub's ownership check: a user may follow the projects and files it owns. */
export function ownershipAuthorizer(db: Database) {
  return async (principal: Principal, channels: readonly string[]): Promise<void> => {
    for (const channel of channels) {
      const dot = channel.indexOf(".");
      const kind = channel.slice(0, dot);
      const id = channel.slice(dot + 1);
      const owner =
        kind === "project"
          ? (await db.getProject(id))?.userId
          : kind === "file"
            ? (await db.getFile(id))?.userId
            : undefined;
      if (owner !== principal.subject) {
        throw new HeraldError(
          "forbidden",
          `${channel} is not yours to follow: it belongs to another user or does not exist`,
        );
      }
    }
  };
}
