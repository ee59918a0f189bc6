import type { ReactNode } from "react";
import type { CommonValues, FormState } from "../hooks/use-generator-form.ts";
import { FormFooter } from "./form-fields.tsx";

/** A generator's page: its form in a panel (fields given as children), and its gallery beside. */
export function ToolPage<V extends CommonValues>({
  title,
  lede,
  configError,
  form,
  gallery,
  children,
}: {
  title: string;
  lede: string;
  configError: string | undefined;
  form: FormState<V>;
  gallery: ReactNode;
  children: ReactNode;
}): ReactNode {
  return (
    <div className="tool">
      <section className="panel tool-form" aria-labelledby="tool-title">
        <h1 id="tool-title">{title}</h1>
        <p className="muted">{lede}</p>
        {configError ? <p className="form-error">{configError}</p> : null}
        <form
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            void form.submit();
          }}
        >
          {children}
          <FormFooter form={form} />
        </form>
      </section>
      {gallery}
    </div>
  );
}
