import type { ReactNode } from "react";
import {
  CommonFields,
  describedBy,
  errorFor,
  Field,
  FormFooter,
  useFocusOnProblem,
} from "../components/form-fields.tsx";
import { Gallery } from "../components/gallery.tsx";
import { useVideoGenerator } from "../hooks/use-video-generator.ts";

export function VideoGeneratorPage(): ReactNode {
  const { config, configError, form, generations, startImages, startImagesError } =
    useVideoGenerator();
  useFocusOnProblem("video", form);
  const durationError = errorFor(form, "durationS");
  const frameRateError = errorFor(form, "frameRate");
  const imageError = errorFor(form, "imageFileId") ?? startImagesError;
  const duration = config?.video.durationS;
  const frameRate = config?.video.frameRate;
  const chosen = startImages.find((image) => image.id === form.values.imageFileId);
  return (
    <div className="tool">
      <section className="panel tool-form" aria-labelledby="tool-title">
        <h1 id="tool-title">Video Generator</h1>
        <p className="muted">A short clip from a prompt, or from one of your images.</p>
        {configError ? <p className="form-error">{configError}</p> : null}
        <form
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            void form.submit();
          }}
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
            <Field
              id="video-durationS"
              label="Duration"
              error={durationError}
              hint={duration ? `Seconds, ${duration.min} to ${duration.max}` : undefined}
            >
              <input
                id="video-durationS"
                name="durationS"
                type="number"
                inputMode="decimal"
                min={duration?.min}
                max={duration?.max}
                step={0.5}
                placeholder={duration ? String(duration.default) : ""}
                value={form.values.durationS}
                onChange={(event) => form.set("durationS", event.target.value)}
                {...describedBy("video-durationS", durationError, duration !== undefined)}
              />
            </Field>
            <Field
              id="video-frameRate"
              label="Frame rate"
              error={frameRateError}
              hint={frameRate ? `Frames a second, ${frameRate.min} to ${frameRate.max}` : undefined}
            >
              <input
                id="video-frameRate"
                name="frameRate"
                type="number"
                inputMode="numeric"
                min={frameRate?.min}
                max={frameRate?.max}
                step={1}
                placeholder={frameRate ? String(frameRate.default) : ""}
                value={form.values.frameRate}
                onChange={(event) => form.set("frameRate", event.target.value)}
                {...describedBy("video-frameRate", frameRateError, frameRate !== undefined)}
              />
            </Field>
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
          <FormFooter form={form} />
        </form>
      </section>
      <Gallery title="Your videos" noun="video" generations={generations} />
    </div>
  );
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}
