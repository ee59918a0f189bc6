/**
 * Who may do what, PROTOCOL.md section 7: HS256 JWTs with `sub`, `exp`, `channels` (patterns a
 * subscriber may open) and `publish` (patterns a publisher may send to).
 */
import { HeraldError, matchesChannelPattern } from "@herald/protocol";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";

export interface Principal {
  subject: string;
  channels: readonly string[];
  publish: readonly string[];
}

export interface Authenticator {
  /** The principal a token stands for; throws HeraldError `unauthorized` otherwise. */
  authenticate(token: string): Promise<Principal>;
}

export interface TokenClaims {
  sub: string;
  channels?: readonly string[];
  publish?: readonly string[];
  /** Lifetime in seconds (default one hour). */
  expiresInS?: number;
}

export interface JwtAuth extends Authenticator {
  /** Mints a token the same authenticator accepts. */
  sign(claims: TokenClaims): Promise<string>;
}

/**
 * The secret comes from `secret`, else `HERALD_JWT_SECRET`. Where neither is set:
 * - with `NODE_ENV=production` it throws: tokens must verify on every server and after restarts;
 * - else one random secret is made per process, shared by every `createJwtAuth()` of the process
 *   (kept on `globalThis`, so that the copies of this module a framework evaluates, one per
 *   Next.js route bundle, agree), with one warning (`process.emitWarning`, code
 *   `HERALD_JWT_SECRET_UNSET`).
 */
export function createJwtAuth(options: { secret?: string } = {}): JwtAuth {
  const env = globalThis.process?.env;
  const secretText = options.secret ?? env?.HERALD_JWT_SECRET;
  if (secretText !== undefined && secretText.length < 32) {
    throw new HeraldError(
      "internal",
      "HERALD_JWT_SECRET must be at least 32 characters: HS256 with a short secret can be guessed offline",
    );
  }
  const secret = secretText === undefined ? processSecret() : new TextEncoder().encode(secretText);
  // Imported once: jose imports raw bytes again on every call, which was half of a check's cost.
  const key = crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
  const verified = new VerifiedTokens();

  return {
    async authenticate(token) {
      const known = verified.get(token);
      if (known) return known;
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(token, await key, {
          algorithms: ["HS256"],
          requiredClaims: ["sub", "exp"],
        }));
      } catch (error) {
        throw new HeraldError("unauthorized", describeTokenError(error), { cause: error });
      }
      const principal: Principal = {
        subject: String(payload.sub),
        channels: stringList(payload.channels),
        publish: stringList(payload.publish),
      };
      verified.set(token, principal, Number(payload.exp) * 1000);
      return principal;
    },
    async sign(claims) {
      return new SignJWT({ channels: claims.channels ?? [], publish: claims.publish ?? [] })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject(claims.sub)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + (claims.expiresInS ?? 3600))
        .sign(await key);
    },
  };
}

/** Tokens verified, kept at most this many (a publisher's, a page's that reconnects). */
const VERIFIED_TOKENS = 10_000;

/**
 * Tokens this authenticator has verified, with what they stand for, until they expire: a
 * keep-alive publisher sends the same token with every POST and a page with every reconnect,
 * and checking its signature again was most of what a one-event POST cost (docs/BENCHMARKS.md,
 * http-publish). A token is kept only after its signature and claims passed, and is dropped at
 * its `exp`, so the answer is the one a new check would give. The oldest goes first when full.
 */
class VerifiedTokens {
  private readonly byToken = new Map<string, { principal: Principal; expiresAt: number }>();

  get(token: string): Principal | undefined {
    const entry = this.byToken.get(token);
    if (!entry) return undefined;
    if (Date.now() < entry.expiresAt) return entry.principal;
    this.byToken.delete(token);
    return undefined;
  }

  set(token: string, principal: Principal, expiresAt: number): void {
    if (!(expiresAt > Date.now())) return;
    if (this.byToken.size >= VERIFIED_TOKENS) {
      const oldest = this.byToken.keys().next().value;
      if (oldest !== undefined) this.byToken.delete(oldest);
    }
    this.byToken.set(token, { principal, expiresAt });
  }
}

/** Where the process's own secret is kept: one key for every copy of this module. */
const PROCESS_SECRET = Symbol.for("@herald/hub.processJwtSecret");

function processSecret(): Uint8Array<ArrayBuffer> {
  if (globalThis.process?.env?.NODE_ENV === "production") {
    throw new HeraldError(
      "internal",
      "createJwtAuth() has no secret and NODE_ENV is production: set HERALD_JWT_SECRET to a random string of 32 characters or more (the same on every server), or pass createJwtAuth({ secret }). A secret made up at start would refuse every token after a restart or on another server",
    );
  }
  const holder = globalThis as { [PROCESS_SECRET]?: Uint8Array<ArrayBuffer> };
  let key = holder[PROCESS_SECRET];
  if (!key) {
    key = crypto.getRandomValues(new Uint8Array(32));
    holder[PROCESS_SECRET] = key;
    globalThis.process?.emitWarning?.(
      "HERALD_JWT_SECRET is not set: createJwtAuth() signs with a random secret made for this process, so its tokens stop working when it restarts and are refused by other servers. Set HERALD_JWT_SECRET (32+ characters) to keep them",
      { code: "HERALD_JWT_SECRET_UNSET" },
    );
  }
  return key;
}

/** Throws `forbidden` unless every channel matches one of the patterns. */
export function assertChannelsAllowed(
  channels: readonly string[],
  patterns: readonly string[],
  action: "subscribe to" | "publish to",
): void {
  for (const channel of channels) {
    if (!matchesChannelPattern(channel, patterns)) {
      throw new HeraldError(
        "forbidden",
        `this token may not ${action} ${channel}: ask for a token whose ${action === "publish to" ? "publish" : "channels"} claim covers it`,
      );
    }
  }
}

function stringList(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === "string")
    : [];
}

function describeTokenError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "the token has expired: get a new one";
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `the token lacks a valid "${error.claim}" claim`;
  return "the token is not valid here: it is malformed or was not signed by this server";
}
