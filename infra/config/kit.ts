/**
 * Building blocks for config schemas: each produces a message that says what is wrong and how to fix it.
 * Messages may contain `{key}`, which validation replaces with the setting's full key.
 */
import * as v from "valibot";
import { hostBitsProblem, IPV4_CIDR, networkOf } from "../core/cidr";
import { hiddenCharacter } from "../core/text";
import { show } from "./problems";

/** The stack configuration's namespace: every key this project reads is `gitlab-eks:<key>`. */
export const NAMESPACE = "gitlab-eks";

/** Longest free text a setting takes unless it says otherwise; values end up in names, labels and YAML. */
export const MAX_TEXT_LENGTH = 1024;
/** Longest list a setting takes unless it says otherwise (each list with a real limit states its own). */
export const MAX_LIST_LENGTH = 100;

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
    v.integer((i) => `must be a whole number, got ${show(i.input)}. ${fix(String(example))}`),
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

/**
 * A string of at most `max` characters without hidden characters (newlines, zero-width or
 * right-to-left marks: they look fine in review and break or disguise the value where it lands), unless
 * `multiline` (a PEM certificate) allows line breaks.
 */
export function text(what: string, example: string, opts: { max?: number; multiline?: boolean } = {}) {
  const max = opts.max ?? MAX_TEXT_LENGTH;
  return v.pipe(
    v.string((i) => `must be ${what}, got ${show(i.input)}. ${fix(example)}`),
    v.maxLength(
      max,
      (i) => `is ${String(i.input).length} characters; at most ${max} are accepted. ${fix(example)}`,
    ),
    v.check(
      (x) => hiddenCharacter(opts.multiline ? x.replace(/\r?\n/g, "") : x) === undefined,
      (i) => {
        const value = String(i.input);
        const hidden = hiddenCharacter(opts.multiline ? value.replace(/\r?\n/g, "") : value);
        return `${show(value)} contains ${hidden}, which does not show when the value is read. ${fix(example)}`;
      },
    ),
  );
}

export function pattern(what: string, re: RegExp, example: string, max?: number) {
  return v.pipe(
    text(what, example, { max }),
    v.regex(re, (i) => `must be ${what}, got ${show(i.input)}. ${fix(example)}`),
  );
}

/** An IPv4 network block: AWS refuses one with host bits set (203.0.113.7/24). */
export const cidrBlock = (example: string) =>
  v.pipe(
    pattern("an IPv4 CIDR block such as 10.0.0.0/16", IPV4_CIDR, example),
    v.check(
      (x) => hostBitsProblem(x) === undefined,
      (i) => `${hostBitsProblem(String(i.input))}. ${fix(networkOf(String(i.input)))}`,
    ),
  );

/** A list of at most `max` items: the length is checked first, so a huge list gives one problem, not one per item. */
export function list<T extends v.GenericSchema>(
  item: T,
  what: string,
  example: string,
  max: number = MAX_LIST_LENGTH,
  why = "",
) {
  return v.pipe(
    v.array(v.unknown(), (i) => `must be a list of ${what}, got ${show(i.input)}. ${fix(example)}`),
    v.maxLength(
      max,
      (i) =>
        `lists ${(i.input as unknown[]).length} ${what}; at most ${max} are accepted${why ? ` (${why})` : ""}. Fix: list fewer`,
    ),
    v.array(item),
  );
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
