/**
 * `GET /api/v1/openapi.json`: an OpenAPI 3.1 document of the generation API and the event
 * endpoints, generated from the same zod schemas the server validates with.
 */
import { publishedMessageSchema } from "@herald/protocol/schemas";
import { z } from "zod";
import {
  errorSchema,
  fileListQuerySchema,
  filePageSchema,
  fileViewSchema,
  generationAcceptedSchema,
  generationConfigSchema,
  imageGenerationSchema,
  projectViewSchema,
  sessionSchema,
  taskViewSchema,
  videoGenerationSchema,
} from "./schemas.ts";

type Schema = z.ZodType;

const json = (schema: Schema, io: "input" | "output" = "output") => ({
  "application/json": { schema: z.toJSONSchema(schema, { io, unrepresentable: "any" }) },
});
const answer = (description: string, schema?: Schema) => ({
  description,
  ...(schema ? { content: json(schema) } : {}),
});
const refusal = (description: string) => answer(description, errorSchema);
const idParameter = (name: string, what: string) => ({
  name,
  in: "path",
  required: true,
  description: `The ${what}'s id`,
  schema: { type: "string" },
});
const channelParameter = {
  name: "channel",
  in: "path",
  required: true,
  schema: { type: "string", pattern: "^(project|file|user)\\.[A-Za-z0-9][A-Za-z0-9_-]{0,127}$" },
};

export function openApiDocument() {
  const querySchema = z.toJSONSchema(fileListQuerySchema, { io: "input" }) as {
    properties: Record<string, object>;
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "Herald Studio API",
      version: "1.0.0",
      description:
        "Image and video generations run as tasks and report every step over Server-Sent Events.",
    },
    components: {
      securitySchemes: {
        session: { type: "apiKey", in: "cookie", name: "herald_session" },
        bearer: { type: "http", scheme: "bearer", description: "The token of GET /api/v1/session" },
        eventsCookie: { type: "apiKey", in: "cookie", name: "herald_token" },
      },
    },
    security: [{ session: [] }, { bearer: [] }],
    paths: {
      "/api/v1/session": {
        get: {
          summary: "The caller's session (made on a first visit)",
          responses: {
            200: answer("The session", sessionSchema),
            429: refusal("Too many new sessions from this address (rate_limited; Retry-After)"),
          },
        },
      },
      "/api/v1/config/generation": {
        get: {
          summary: "Styles, resolutions and limits the server accepts",
          responses: { 200: answer("The limits", generationConfigSchema) },
        },
      },
      "/api/v1/generation/image": {
        post: {
          summary: "Start an image generation",
          requestBody: { required: true, content: json(imageGenerationSchema, "input") },
          responses: {
            202: answer("Accepted: the task runs now", generationAcceptedSchema),
            400: refusal("Bad input; `field` names it"),
            403: refusal("The caller's files fill its storage quota (storage_quota_exceeded)"),
            404: refusal("projectId or imageFileId is no id of the caller's"),
            429: refusal(
              "The caller has the most tasks allowed queued or running (too_many_tasks)",
            ),
          },
        },
      },
      "/api/v1/generation/video": {
        post: {
          summary: "Start a video generation",
          requestBody: { required: true, content: json(videoGenerationSchema, "input") },
          responses: {
            202: answer("Accepted: the task runs now", generationAcceptedSchema),
            400: refusal("Bad input; `field` names it"),
            403: refusal("The caller's files fill its storage quota (storage_quota_exceeded)"),
            404: refusal("projectId or imageFileId is no id of the caller's"),
            429: refusal(
              "The caller has the most tasks allowed queued or running (too_many_tasks)",
            ),
          },
        },
      },
      "/api/v1/file/{id}": {
        get: {
          summary: "A file of the caller's",
          parameters: [idParameter("id", "file")],
          responses: {
            200: answer("The file", fileViewSchema),
            404: refusal("No such file of the caller's"),
          },
        },
        delete: {
          summary: "Delete a file and its bytes (a running task is cancelled first)",
          parameters: [idParameter("id", "file")],
          responses: { 204: answer("Deleted"), 404: refusal("No such file of the caller's") },
        },
      },
      "/api/v1/project/{id}": {
        get: {
          summary: "A project with its files and tasks",
          parameters: [idParameter("id", "project")],
          responses: {
            200: answer("The project", projectViewSchema),
            404: refusal("No such project of the caller's"),
          },
        },
      },
      "/api/v1/files": {
        get: {
          summary: "The caller's files, newest first, paged",
          parameters: Object.entries(querySchema.properties).map(([name, schema]) => ({
            name,
            in: "query",
            schema,
          })),
          responses: { 200: answer("A page of files", filePageSchema), 400: refusal("Bad query") },
        },
      },
      "/api/v1/task/{id}/cancel": {
        post: {
          summary: "Cancel a pending or running task",
          parameters: [idParameter("id", "task")],
          responses: {
            200: answer("Cancelled", taskViewSchema),
            404: refusal("No such task of the caller's"),
            409: refusal("The task had already ended"),
          },
        },
      },
      "/files/{key}": {
        get: {
          summary: "Generated bytes (immutable; Range supported)",
          security: [],
          parameters: [{ name: "key", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            200: { description: "The bytes" },
            206: { description: "A range of the bytes" },
            404: refusal("No such file"),
          },
        },
      },
      "/api/v1/events/{channel}": {
        get: {
          summary: "An event stream on one channel (Server-Sent Events; see PROTOCOL.md)",
          security: [{ eventsCookie: [] }, { bearer: [] }],
          parameters: [
            channelParameter,
            {
              name: "lastEventId",
              in: "query",
              schema: { type: "string" },
              description: "Resume after this id (the Last-Event-ID header wins)",
            },
            {
              name: "from",
              in: "query",
              schema: { type: "string", enum: ["start"] },
              description: "Replay the kept history first",
            },
            {
              name: "token",
              in: "query",
              schema: { type: "string" },
              description: "For clients that can send neither cookie nor header",
            },
          ],
          responses: {
            200: {
              description: "The stream",
              content: { "text/event-stream": { schema: { type: "string" } } },
            },
            400: refusal("A malformed channel or request"),
            401: refusal("No valid token"),
            403: refusal("A channel the token does not cover"),
            429: refusal("Too many streams for this user or this client address"),
            503: refusal("This server holds the most streams it can (Retry-After)"),
          },
        },
        post: {
          summary: "Publish a message (needs a token whose publish claim covers the channel)",
          security: [{ bearer: [] }],
          parameters: [channelParameter],
          requestBody: { required: true, content: json(publishedMessageSchema, "input") },
          responses: {
            201: answer("Published", z.object({ id: z.string() })),
            400: refusal("Not a message"),
            401: refusal("No valid token"),
            403: refusal("The token may not publish here"),
            413: refusal("Larger than 64 KiB"),
          },
        },
      },
      "/api/v1/events": {
        get: {
          summary: "One stream on several channels: ?channel=A&channel=B (at most 32)",
          security: [{ eventsCookie: [] }, { bearer: [] }],
          parameters: [
            {
              name: "channel",
              in: "query",
              required: true,
              schema: { type: "array", items: { type: "string" } },
              style: "form",
              explode: true,
            },
            { name: "lastEventId", in: "query", schema: { type: "string" } },
            { name: "from", in: "query", schema: { type: "string", enum: ["start"] } },
          ],
          responses: {
            200: {
              description: "The stream",
              content: { "text/event-stream": { schema: { type: "string" } } },
            },
          },
        },
        post: {
          summary:
            "Publish a batch, in order, all checked first (a token whose publish claim covers every channel)",
          security: [{ bearer: [] }],
          requestBody: {
            required: true,
            content: json(
              z.object({
                events: z
                  .array(z.object({ channel: z.string(), message: publishedMessageSchema }))
                  .min(1)
                  .max(1000),
              }),
              "input",
            ),
          },
          responses: {
            201: answer(
              "Published; the ids in the events' order",
              z.object({ ids: z.array(z.string()) }),
            ),
            400: refusal("Not a batch, or an event refused (error.field names it)"),
            401: refusal("No valid token"),
            403: refusal("The token may not publish to an event's channel (error.field names it)"),
            413: refusal("A body over 1 MiB, more than 1,000 events, or a message over 64 KiB"),
            503: refusal("The event store failed partway: ids holds those of the events published"),
          },
        },
      },
    },
  };
}
