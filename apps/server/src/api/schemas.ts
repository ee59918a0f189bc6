/**
 * The generation API's inputs and outputs (GENERATION_API.md), as zod schemas: the server
 * validates with them and the OpenAPI document is generated from them.
 */
import { z } from "zod";
import { STYLES } from "../render/index.ts";

export const IMAGE_RESOLUTIONS = [
  "512x512",
  "768x768",
  "1024x1024",
  "1024x576",
  "576x1024",
  "1280x720",
] as const;
export const VIDEO_RESOLUTIONS = [
  "426x240",
  "640x360",
  "854x480",
  "1280x720",
  "720x1280",
  "512x512",
] as const;
export const VIDEO_LIMITS = {
  durationS: { min: 1, max: 10, default: 5 },
  frameRate: { min: 8, max: 30, default: 24 },
} as const;
export const MAX_SEED = 2 ** 31 - 1;
const STYLE_NAMES = STYLES.map((style) => style.name) as [string, ...string[]];

/** "must be a number" for a value of the wrong type only; range checks keep their own words. */
const numberError = (issue: { code: string }) =>
  issue.code === "invalid_type" ? "must be a number" : undefined;

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
export const idSchema = z
  .string({ error: "must be a string" })
  .regex(ID_PATTERN, "must be an id this API gave out");
const id = idSchema;
/**
 * Text PostgreSQL (and PGlite) can store as it was sent: no NUL, which they refuse, and no lone
 * UTF-16 surrogate, which would be stored as U+FFFD. Refused, not stripped: what is stored is
 * what the user typed.
 */
function isStorableText(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit === 0) return false;
    if (unit >= 0xdc00 && unit <= 0xdfff) return false; // a low half with no high half before it
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    }
  }
  return true;
}
const prompt = z
  .string({ error: "must be a string" })
  .refine(isStorableText, "must not contain NUL characters or unpaired UTF-16 surrogates")
  .transform((text) => text.trim())
  .pipe(z.string().min(1, "must not be empty").max(2000, "must be at most 2,000 characters"));
const common = {
  prompt,
  style: z.enum(STYLE_NAMES, { error: `must be one of: ${STYLE_NAMES.join(", ")}` }).optional(),
  seed: z
    .number({ error: numberError })
    .int("must be a whole number")
    .min(0)
    .max(MAX_SEED)
    .optional(),
  projectId: id.optional(),
};

export const imageGenerationSchema = z.strictObject({
  ...common,
  resolution: z
    .enum(IMAGE_RESOLUTIONS, { error: `must be one of: ${IMAGE_RESOLUTIONS.join(", ")}` })
    .default("1024x1024"),
});

export const videoGenerationSchema = z.strictObject({
  ...common,
  resolution: z
    .enum(VIDEO_RESOLUTIONS, { error: `must be one of: ${VIDEO_RESOLUTIONS.join(", ")}` })
    .default("1280x720"),
  durationS: z
    .number({ error: numberError })
    .min(VIDEO_LIMITS.durationS.min)
    .max(VIDEO_LIMITS.durationS.max)
    .default(VIDEO_LIMITS.durationS.default),
  frameRate: z
    .number({ error: numberError })
    .int("must be a whole number")
    .min(VIDEO_LIMITS.frameRate.min)
    .max(VIDEO_LIMITS.frameRate.max)
    .default(VIDEO_LIMITS.frameRate.default),
  imageFileId: id.optional(),
});

export const fileListQuerySchema = z.strictObject({
  type: z.enum(["image", "video"]).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(24),
  cursor: z.string().max(200).optional(),
});

const channelsSchema = z.object({ project: z.string(), file: z.string(), user: z.string() });

export const generationAcceptedSchema = z.object({
  projectId: z.string(),
  fileId: z.string(),
  taskId: z.string(),
  channels: channelsSchema,
});

const status = z.enum(["pending", "in_progress", "completed", "error", "cancelled"]);

export const fileViewSchema = z.object({
  id: z.string(),
  type: z.enum(["image", "video"]),
  status,
  progress: z.number().min(0).max(1),
  url: z.string().optional(),
  contentType: z.string().optional(),
  width: z.number().int(),
  height: z.number().int(),
  durationMs: z.number().optional(),
  prompt: z.string(),
  settings: z.object({
    style: z.string().optional(),
    resolution: z.string(),
    seed: z.number().int(),
    durationS: z.number().optional(),
    frameRate: z.number().int().optional(),
    imageFileId: z.string().optional(),
  }),
  projectId: z.string(),
  taskId: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  error: z.string().optional(),
});

export const taskViewSchema = z.object({
  id: z.string(),
  kind: z.enum(["image", "video"]),
  status,
  projectId: z.string(),
  fileId: z.string(),
  error: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const projectViewSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  files: z.array(fileViewSchema),
  tasks: z.array(taskViewSchema),
});

export const filePageSchema = z.object({
  items: z.array(fileViewSchema),
  nextCursor: z.string().optional(),
});

export const sessionSchema = z.object({
  userId: z.string(),
  channels: z.array(z.string()),
  token: z.string().describe("The session as a bearer token, for clients that are not browsers"),
});

export const generationConfigSchema = z.object({
  styles: z.array(z.object({ name: z.string(), label: z.string() })),
  image: z.object({ resolutions: z.array(z.string()), defaultResolution: z.string() }),
  video: z.object({
    resolutions: z.array(z.string()),
    defaultResolution: z.string(),
    durationS: z.object({ min: z.number(), max: z.number(), default: z.number() }),
    frameRate: z.object({ min: z.number(), max: z.number(), default: z.number() }),
  }),
  prompt: z.object({ maxLength: z.number() }),
  seed: z.object({ min: z.number(), max: z.number() }),
});

export const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }),
});

export type ImageGeneration = z.infer<typeof imageGenerationSchema>;
export type VideoGeneration = z.infer<typeof videoGenerationSchema>;
