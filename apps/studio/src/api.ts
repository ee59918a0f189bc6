/**
 * Calls to Studio's generation API (docs/API.md). Every refusal becomes an `ApiError` carrying
 * the server's `code`, `message` and, for bad input, the `field` at fault, so a form can point
 * at it.
 */
import type {
  FilePage,
  FileRecord,
  GenerationConfig,
  GenerationStarted,
  ImageRequest,
  MediaKind,
  Session,
  VideoRequest,
} from "./api-types.ts";
import { API_BASE_URL } from "./config.ts";

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly field: string | undefined;

  constructor(
    code: string,
    message: string,
    status: number,
    field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
    this.field = field;
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${API_BASE_URL}${path}`, {
      method,
      // Cookies carry the session; another origin needs them asked for explicitly.
      credentials: API_BASE_URL ? "include" : "same-origin",
      headers: body === undefined ? undefined : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (cause) {
    throw new ApiError(
      "network",
      "The server could not be reached. Check your connection and try again.",
      0,
      undefined,
      { cause },
    );
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const parsed: unknown = text ? safeJson(text) : undefined;
  if (!response.ok) throw refusal(response.status, parsed);
  return parsed as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    // A proxy's HTML error page, say: the status still tells what happened.
    return { error: { code: "http_error", message: `not JSON (${String(error)})` } };
  }
}

function refusal(status: number, body: unknown): ApiError {
  const error =
    typeof body === "object" && body !== null && "error" in body
      ? (body as { error: unknown }).error
      : undefined;
  if (typeof error === "object" && error !== null) {
    const { code, message, field } = error as Record<string, unknown>;
    return new ApiError(
      typeof code === "string" ? code : "http_error",
      typeof message === "string" ? message : `The server answered ${status}.`,
      status,
      typeof field === "string" ? field : undefined,
    );
  }
  return new ApiError("http_error", `The server answered ${status}.`, status);
}

export const api = {
  session: () => call<Session>("GET", "/api/v1/session"),
  config: () => call<GenerationConfig>("GET", "/api/v1/config/generation"),
  files: (query: { type?: MediaKind; limit?: number; cursor?: string } = {}) => {
    const params = new URLSearchParams();
    if (query.type) params.set("type", query.type);
    if (query.limit !== undefined) params.set("limit", String(query.limit));
    if (query.cursor) params.set("cursor", query.cursor);
    const search = params.toString();
    return call<FilePage>("GET", `/api/v1/files${search ? `?${search}` : ""}`);
  },
  file: (id: string) => call<FileRecord>("GET", `/api/v1/file/${encodeURIComponent(id)}`),
  deleteFile: (id: string) => call<void>("DELETE", `/api/v1/file/${encodeURIComponent(id)}`),
  cancelTask: (taskId: string) =>
    call<unknown>("POST", `/api/v1/task/${encodeURIComponent(taskId)}/cancel`),
  generateImage: (request: ImageRequest) =>
    call<GenerationStarted>("POST", "/api/v1/generation/image", request),
  generateVideo: (request: VideoRequest) =>
    call<GenerationStarted>("POST", "/api/v1/generation/video", request),
};

/** A URL under /files/ as an absolute link a person can paste anywhere. */
export function absoluteFileUrl(url: string): string {
  return new URL(`${API_BASE_URL}${url}`, window.location.href).href;
}
