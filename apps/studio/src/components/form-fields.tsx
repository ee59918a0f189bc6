import { type ReactNode, useEffect } from "react";
import type { GenerationConfig } from "../api-types.ts";
import type { CommonValues, FormState } from "../hooks/use-generator-form.ts";

/** A label, its control, a hint and the error that belongs to it. */
export function Field({
  id,
  label,
  hint,
  error,
  children,
}: {
  id: string;
  label: string;
  hint?: string;
  error?: string;
  children: ReactNode;
}): ReactNode {
  return (
    <div className={`field ${error ? "has-error" : ""}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {error ? (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : hint ? (
        <p className="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

/** aria attributes tying a control to its hint or error. */
export function describedBy(
  id: string,
  error: string | undefined,
  hint: boolean,
): {
  "aria-invalid"?: true;
  "aria-describedby"?: string;
} {
  if (error) return { "aria-invalid": true, "aria-describedby": `${id}-error` };
  return hint ? { "aria-describedby": `${id}-hint` } : {};
}

export function errorFor<V extends CommonValues>(
  form: FormState<V>,
  field: string,
): string | undefined {
  return form.problem?.field === field ? form.problem.message : undefined;
}

/** Prompt, style, resolution and seed: the fields of every generator. */
export function CommonFields<V extends CommonValues>({
  idPrefix,
  form,
  config,
  resolutions,
  defaultResolution,
  placeholder,
}: {
  idPrefix: string;
  form: FormState<V>;
  config: GenerationConfig | undefined;
  resolutions: readonly string[];
  defaultResolution: string | undefined;
  placeholder: string;
}): ReactNode {
  const promptError = errorFor(form, "prompt");
  const seedError = errorFor(form, "seed");
  const styleError = errorFor(form, "style");
  const resolutionError = errorFor(form, "resolution");
  const ids = {
    prompt: `${idPrefix}-prompt`,
    style: `${idPrefix}-style`,
    resolution: `${idPrefix}-resolution`,
    seed: `${idPrefix}-seed`,
  };
  return (
    <>
      <Field id={ids.prompt} label="Prompt" error={promptError} hint="Ctrl+Enter generates.">
        <textarea
          id={ids.prompt}
          name="prompt"
          rows={4}
          value={form.values.prompt}
          placeholder={placeholder}
          maxLength={config?.prompt.maxLength}
          onChange={(event) => form.set("prompt", event.target.value as V["prompt"])}
          onKeyDown={(event) => {
            if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
              event.preventDefault();
              void form.submit();
            }
          }}
          {...describedBy(ids.prompt, promptError, true)}
        />
      </Field>
      <div className="field-row">
        <Field id={ids.style} label="Style" error={styleError}>
          <select
            id={ids.style}
            name="style"
            value={form.values.style}
            onChange={(event) => form.set("style", event.target.value as V["style"])}
            {...describedBy(ids.style, styleError, false)}
          >
            <option value="">Any style</option>
            {config?.styles.map((style) => (
              <option key={style.name} value={style.name}>
                {style.label}
              </option>
            ))}
          </select>
        </Field>
        <Field id={ids.resolution} label="Resolution" error={resolutionError}>
          <select
            id={ids.resolution}
            name="resolution"
            value={form.values.resolution || defaultResolution || ""}
            onChange={(event) => form.set("resolution", event.target.value as V["resolution"])}
            {...describedBy(ids.resolution, resolutionError, false)}
          >
            {resolutions.map((resolution) => (
              <option key={resolution} value={resolution}>
                {resolution.replace("x", "×")}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <Field
        id={ids.seed}
        label="Seed"
        error={seedError}
        hint="Leave empty for a random one; the same seed repeats a result."
      >
        <input
          id={ids.seed}
          name="seed"
          type="number"
          inputMode="numeric"
          min={config?.seed.min ?? 0}
          max={config?.seed.max}
          step={1}
          placeholder="Random"
          value={form.values.seed}
          onChange={(event) => form.set("seed", event.target.value as V["seed"])}
          {...describedBy(ids.seed, seedError, true)}
        />
      </Field>
    </>
  );
}

export function FormFooter<V extends CommonValues>({ form }: { form: FormState<V> }): ReactNode {
  const general = form.problem && !form.problem.field ? form.problem.message : undefined;
  const unplaced =
    form.problem?.field &&
    !["prompt", "style", "resolution", "seed", "durationS", "frameRate", "imageFileId"].includes(
      form.problem.field,
    )
      ? form.problem.message
      : undefined;
  const message = general ?? unplaced;
  return (
    <div className="form-footer">
      {message ? (
        <p className="form-error" role="alert">
          {message}
        </p>
      ) : null}
      <button
        type="submit"
        className="button button-primary"
        disabled={form.submitting}
        aria-busy={form.submitting}
      >
        Generate
      </button>
    </div>
  );
}

/** Moves focus to the field a refusal names, so a keyboard user lands where the fix is. */
export function useFocusOnProblem<V extends CommonValues>(
  idPrefix: string,
  form: FormState<V>,
): void {
  const field = form.problem?.field;
  const message = form.problem?.message;
  useEffect(() => {
    if (!field || !message) return;
    const element = document.getElementById(`${idPrefix}-${field}`);
    if (element instanceof HTMLElement) element.focus();
  }, [idPrefix, field, message]);
}

/** A number a generator takes within the server's range, with the range as its hint. */
export function RangeField<V extends CommonValues, K extends keyof V & string>({
  idPrefix,
  form,
  name,
  label,
  unit,
  range,
  step,
}: {
  idPrefix: string;
  form: FormState<V> & { values: Record<K, string> };
  name: K;
  label: string;
  /** What the numbers count, for the hint: "Seconds". */
  unit: string;
  range: { min: number; max: number; default: number } | undefined;
  step: number;
}): ReactNode {
  const id = `${idPrefix}-${name}`;
  const error = errorFor(form, name);
  return (
    <Field
      id={id}
      label={label}
      error={error}
      hint={range ? `${unit}, ${range.min} to ${range.max}` : undefined}
    >
      <input
        id={id}
        name={name}
        type="number"
        inputMode={Number.isInteger(step) ? "numeric" : "decimal"}
        min={range?.min}
        max={range?.max}
        step={step}
        placeholder={range ? String(range.default) : ""}
        value={form.values[name]}
        onChange={(event) => form.set(name, event.target.value as V[K])}
        {...describedBy(id, error, range !== undefined)}
      />
    </Field>
  );
}
