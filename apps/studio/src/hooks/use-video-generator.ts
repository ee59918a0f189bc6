/**
 * The Video Generator page's logic: its form (with duration, frame rate and a start image
 * chosen from the user's finished images), and the user's videos kept live.
 */
import { useChannel } from "@herald/react";
import { useCallback, useEffect, useState } from "react";
import { api } from "../api.ts";
import type { FileRecord, FileSettings, GenerationConfig } from "../api-types.ts";
import { messageOf } from "../format.ts";
import { useGenerationConfig } from "./use-generation-config.ts";
import { type Generations, useGenerations } from "./use-generations.ts";
import {
  type CommonValues,
  commonRequest,
  FormError,
  type FormState,
  useGeneratorForm,
} from "./use-generator-form.ts";
import { useSession } from "./use-session.tsx";

export interface VideoFormValues extends CommonValues {
  /** Seconds, as typed; "" for the default. */
  durationS: string;
  /** Frames a second, as typed; "" for the default. */
  frameRate: string;
  /** "" for none. */
  imageFileId: string;
}

export interface StartImage {
  id: string;
  prompt: string;
  url: string;
}

export interface VideoGenerator {
  config: GenerationConfig | undefined;
  configError: string | undefined;
  form: FormState<VideoFormValues>;
  generations: Generations;
  /** The user's finished images, newest first, any of which a clip may start from. */
  startImages: StartImage[];
  startImagesError: string | undefined;
}

const START_IMAGE_LIMIT = 50;

export function useVideoGenerator(): VideoGenerator {
  const { config, error: configError } = useGenerationConfig();
  const generations = useGenerations("video");
  const { startImages, error: startImagesError } = useStartImages();

  const send = useCallback(
    async (values: VideoFormValues) => {
      const common = commonRequest(values, config);
      const resolution = values.resolution || config?.video.defaultResolution || "1280x720";
      const durationS = readNumber(values.durationS, config?.video.durationS, "durationS", {
        whole: false,
        what: "The duration",
        unit: "seconds",
      });
      const frameRate = readNumber(values.frameRate, config?.video.frameRate, "frameRate", {
        whole: true,
        what: "The frame rate",
        unit: "frames a second",
      });
      const request = {
        ...common,
        resolution,
        ...(durationS === undefined ? {} : { durationS }),
        ...(frameRate === undefined ? {} : { frameRate }),
        ...(values.imageFileId ? { imageFileId: values.imageFileId } : {}),
      };
      const started = await api.generateVideo(request);
      const settings: FileSettings = {
        style: common.style,
        resolution,
        seed: common.seed,
        durationS: durationS ?? config?.video.durationS.default,
        frameRate: frameRate ?? config?.video.frameRate.default,
        imageFileId: request.imageFileId,
      };
      return { started, settings, prompt: common.prompt };
    },
    [config],
  );

  const form = useGeneratorForm<VideoFormValues>(
    {
      prompt: "",
      style: "",
      resolution: "",
      seed: "",
      durationS: "",
      frameRate: "",
      imageFileId: "",
    },
    send,
    generations.track,
  );
  return { config, configError, form, generations, startImages, startImagesError };
}

function readNumber(
  text: string,
  range: { min: number; max: number } | undefined,
  field: string,
  rule: { whole: boolean; what: string; unit: string },
): number | undefined {
  if (!text.trim()) return undefined;
  const value = Number(text);
  const min = range?.min ?? 0;
  const max = range?.max ?? Number.MAX_SAFE_INTEGER;
  if (
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (rule.whole && !Number.isInteger(value))
  )
    throw new FormError(
      field,
      `${rule.what} is ${rule.whole ? "a whole number" : "a number"} from ${min} to ${max} ${rule.unit}.`,
    );
  return value;
}

/** The user's completed images; read again whenever one of their image tasks completes. */
function useStartImages(): { startImages: StartImage[]; error: string | undefined } {
  const { userId } = useSession();
  const [startImages, setStartImages] = useState<StartImage[]>([]);
  const [error, setError] = useState<string>();
  const [version, setVersion] = useState(0);

  useEffect(() => {
    // `version` is read so that a completed image task runs this again.
    if (!userId || version < 0) return;
    let live = true;
    api.files({ type: "image", limit: START_IMAGE_LIMIT }).then(
      (page) => {
        if (!live) return;
        setStartImages(page.items.filter(isUsableImage).map(toStartImage));
        setError(undefined);
      },
      (reason: unknown) => {
        if (live) setError(`Could not list your images: ${messageOf(reason)}`);
      },
    );
    return () => {
      live = false;
    };
  }, [userId, version]);

  useChannel(
    userId ? `user.${userId}` : [],
    (message) => {
      const task = message.object ?? {};
      if (task.kind === "image" && task.status === "completed") setVersion((n) => n + 1);
    },
    { types: ["task"], enabled: Boolean(userId) },
  );

  return { startImages, error };
}

function isUsableImage(file: FileRecord): file is FileRecord & { url: string } {
  return file.status === "completed" && typeof file.url === "string";
}

function toStartImage(file: FileRecord & { url: string }): StartImage {
  return { id: file.id, prompt: file.prompt, url: file.url };
}
