/**
 * The form both generators share: prompt, style, resolution and seed, checked here before the
 * server checks them again, and the server's refusal mapped back to the field at fault.
 */
import { useCallback, useState } from "react";
import { ApiError } from "../api.ts";
import type { FileSettings, GenerationConfig, GenerationStarted } from "../api-types.ts";
import { messageOf } from "../format.ts";

export interface FormProblem {
  /** The API's name of the field at fault, where there is one. */
  field: string | undefined;
  message: string;
}

export interface CommonValues {
  prompt: string;
  /** "" for no particular style. */
  style: string;
  /** "" for the kind's default. */
  resolution: string;
  /** "" for a seed the server picks. */
  seed: string;
}

export interface FormState<V extends CommonValues> {
  values: V;
  set<K extends keyof V>(key: K, value: V[K]): void;
  submit(): Promise<void>;
  submitting: boolean;
  problem: FormProblem | undefined;
}

export class FormError extends Error {
  readonly field: string | undefined;
  constructor(field: string | undefined, message: string) {
    super(message);
    this.name = "FormError";
    this.field = field;
  }
}

/** The common part of a request body, or a FormError naming the field at fault. */
export function commonRequest(
  values: CommonValues,
  config: GenerationConfig | undefined,
): { prompt: string; style?: string; seed?: number } {
  const prompt = values.prompt.trim();
  if (!prompt) throw new FormError("prompt", "Write a prompt first: what should it show?");
  const maxLength = config?.prompt.maxLength ?? 2000;
  if (prompt.length > maxLength)
    throw new FormError(
      "prompt",
      `Keep the prompt under ${maxLength.toLocaleString()} characters.`,
    );
  const request: { prompt: string; style?: string; seed?: number } = { prompt };
  if (values.style) request.style = values.style;
  if (values.seed.trim()) {
    const seed = Number(values.seed);
    const max = config?.seed.max ?? 2147483647;
    if (!Number.isInteger(seed) || seed < 0 || seed > max)
      throw new FormError("seed", `The seed is a whole number from 0 to ${max.toLocaleString()}.`);
    request.seed = seed;
  }
  return request;
}

export function useGeneratorForm<V extends CommonValues>(
  initial: V,
  send: (
    values: V,
  ) => Promise<{ started: GenerationStarted; settings: FileSettings; prompt: string }>,
  onStarted: (
    started: GenerationStarted,
    request: { prompt: string; settings: FileSettings },
  ) => void,
): FormState<V> {
  const [values, setValues] = useState(initial);
  const [submitting, setSubmitting] = useState(false);
  const [problem, setProblem] = useState<FormProblem>();

  const set = useCallback(<K extends keyof V>(key: K, value: V[K]) => {
    setValues((current) => ({ ...current, [key]: value }));
    setProblem((current) => (current?.field === key ? undefined : current));
  }, []);

  const submit = useCallback(async () => {
    setSubmitting(true);
    setProblem(undefined);
    try {
      const { started, settings, prompt } = await send(values);
      onStarted(started, { prompt, settings });
    } catch (error) {
      if (error instanceof FormError) setProblem({ field: error.field, message: error.message });
      else if (error instanceof ApiError)
        setProblem({ field: error.field, message: error.message });
      else setProblem({ field: undefined, message: messageOf(error) });
    } finally {
      setSubmitting(false);
    }
  }, [send, values, onStarted]);

  return { values, set, submit, submitting, problem };
}
