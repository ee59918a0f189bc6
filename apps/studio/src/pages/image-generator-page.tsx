import type { ReactNode } from "react";
import { CommonFields, useFocusOnProblem } from "../components/form-fields.tsx";
import { Gallery } from "../components/gallery.tsx";
import { ToolPage } from "../components/tool-page.tsx";
import { useImageGenerator } from "../hooks/use-image-generator.ts";

export function ImageGeneratorPage(): ReactNode {
  const { config, configError, form, generations } = useImageGenerator();
  useFocusOnProblem("image", form);
  return (
    <ToolPage
      title="Image Generator"
      lede="Describe a picture; watch it paint itself."
      configError={configError}
      form={form}
      gallery={<Gallery title="Your images" noun="image" generations={generations} />}
    >
      <CommonFields
        idPrefix="image"
        form={form}
        config={config}
        resolutions={config?.image.resolutions ?? []}
        defaultResolution={config?.image.defaultResolution}
        placeholder="A lighthouse at dusk, watercolor sky"
      />
    </ToolPage>
  );
}
