import type { ReactNode } from "react";
import { CommonFields, FormFooter, useFocusOnProblem } from "../components/form-fields.tsx";
import { Gallery } from "../components/gallery.tsx";
import { useImageGenerator } from "../hooks/use-image-generator.ts";

export function ImageGeneratorPage(): ReactNode {
  const { config, configError, form, generations } = useImageGenerator();
  useFocusOnProblem("image", form);
  return (
    <div className="tool">
      <section className="panel tool-form" aria-labelledby="tool-title">
        <h1 id="tool-title">Image Generator</h1>
        <p className="muted">Describe a picture; watch it paint itself.</p>
        {configError ? <p className="form-error">{configError}</p> : null}
        <form
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            void form.submit();
          }}
        >
          <CommonFields
            idPrefix="image"
            form={form}
            config={config}
            resolutions={config?.image.resolutions ?? []}
            defaultResolution={config?.image.defaultResolution}
            placeholder="A lighthouse at dusk, watercolor sky"
          />
          <FormFooter form={form} />
        </form>
      </section>
      <Gallery title="Your images" noun="image" generations={generations} />
    </div>
  );
}
