import type { ReactNode } from "react";
import {
  CommonFields,
  describedBy,
  errorFor,
  Field,
  RangeField,
  useFocusOnProblem,
} from "../components/form-fields.tsx";
import { Gallery } from "../components/gallery.tsx";
import { ToolPage } from "../components/tool-page.tsx";
import { useVideoGenerator } from "../hooks/use-video-generator.ts";

export function VideoGeneratorPage(): ReactNode {
  const { config, configError, form, generations, startImages, startImagesError } =
    useVideoGenerator();
  useFocusOnProblem("video", form);
  const imageError = errorFor(form, "imageFileId") ?? startImagesError;
  const chosen = startImages.find((image) => image.id === form.values.imageFileId);
  return (
    <ToolPage
      title="Video Generator"
      lede="A short clip from a prompt, or from one of your images."
      configError={configError}
      form={form}
      gallery={<Gallery title="Your videos" noun="video" generations={generations} />}
    >
      <CommonFields
        idPrefix="video"
        form={form}
        config={config}
        resolutions={config?.video.resolutions ?? []}
        defaultResolution={config?.video.defaultResolution}
        placeholder="Waves rolling in under the lighthouse"
      />
      <div className="field-row">
        <RangeField
          idPrefix="video"
          form={form}
          name="durationS"
          label="Duration"
          unit="Seconds"
          range={config?.video.durationS}
          step={0.5}
        />
        <RangeField
          idPrefix="video"
          form={form}
          name="frameRate"
          label="Frame rate"
          unit="Frames a second"
          range={config?.video.frameRate}
          step={1}
        />
      </div>
      <Field
        id="video-imageFileId"
        label="Start image"
        error={imageError}
        hint={
          startImages.length
            ? "Optional: the clip starts from it."
            : "Make an image first to start a clip from it."
        }
      >
        <div className="start-image">
          <select
            id="video-imageFileId"
            name="imageFileId"
            value={form.values.imageFileId}
            onChange={(event) => form.set("imageFileId", event.target.value)}
            {...describedBy("video-imageFileId", imageError, true)}
          >
            <option value="">None: from the prompt only</option>
            {startImages.map((image) => (
              <option key={image.id} value={image.id}>
                {truncate(image.prompt, 48)}
              </option>
            ))}
          </select>
          {chosen ? (
            <img
              className="start-image-preview"
              src={chosen.url}
              alt={`Start image: ${chosen.prompt}`}
            />
          ) : null}
        </div>
      </Field>
    </ToolPage>
  );
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}
