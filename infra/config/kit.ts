/**
 * Building blocks for config schemas: each produces a message that says what is wrong and how to fix it.
 * Messages may contain `{key}`, which validation replaces with the setting's full key.
 */
import * as v from "valibot";
import { show } from "./problems";

export const fix = (example: string) => `Fix: pulumi config set --path '{key}' ${example}`;

/** YAML and `pulumi config set --path` may give numbers and booleans as strings: accept both. */
export function coerceNumber(input: unknown): unknown {
  return typeof input === "string" && /^-?\d+(\.\d+)?$/.test(input.trim()) ? Number(input) : input;
}
export function coerceBoolean(input: unknown): unknown {
  if (input === "true") return true;
  if (input === "false") return false;
  return input;
}

export function wholeNumber(min: number, max: number, example: number) {
  return v.pipe(
    v.unknown(),
    v.transform(coerceNumber),
    v.number((i) => `must be a whole number, got ${show(i.input)}. ${fix(String(example))}`),
    v.integer((i) => `must be a whole number, got ${i.input}. ${fix(String(example))}`),
    v.minValue(min, (i) => `must be at least ${min}, got ${i.input}. ${fix(String(example))}`),
    v.maxValue(max, (i) => `must be at most ${max}, got ${i.input}. ${fix(String(example))}`),
  );
}

export function flag() {
  return v.pipe(
    v.unknown(),
    v.transform(coerceBoolean),
    v.boolean((i) => `must be true or false, got ${show(i.input)}. ${fix("true")}`),
  );
}

export function text(what: string, example: string) {
  return v.string((i) => `must be ${what}, got ${show(i.input)}. ${fix(example)}`);
}

export function pattern(what: string, re: RegExp, example: string) {
  return v.pipe(
    text(what, example),
    v.regex(re, (i) => `must be ${what}, got ${show(i.input)}. ${fix(example)}`),
  );
}

export function list<T extends v.GenericSchema>(item: T, what: string, example: string) {
  return v.array(item, (i) => `must be a list of ${what}, got ${show(i.input)}. ${fix(example)}`);
}

export function oneOf<const T extends readonly string[]>(options: T) {
  return v.picklist(
    options as unknown as T & [string, ...string[]],
    (i) => `must be one of ${options.join(", ")}, got ${show(i.input)}. ${fix(options[0])}`,
  );
}

export function section<T extends v.ObjectEntries>(entries: T) {
  return v.strictObject(entries, (i) =>
    i.expected === "never"
      ? `unknown setting ${i.received}; it is not read (a typo?). Fix: remove it with pulumi config rm --path '{key}'`
      : `must be an object of settings, got ${show(i.input)}. Fix: set its fields with pulumi config set --path '{key}.<field>' <value>`,
  );
}
