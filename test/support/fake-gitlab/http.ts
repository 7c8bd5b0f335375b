/** Errors, parameter parsing and routing types shared by every resource module. */
import * as crypto from "node:crypto";
import type { FakeJobToken, FakeToken, FakeUser } from "./types";
// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

export type Params = Record<string, unknown>;

export class HttpError extends Error {
  constructor(
    public readonly status: number,
    public readonly body: unknown,
    public readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

/** render_api_error!: {"message": ...} */
export const apiError = (status: number, message: unknown): HttpError => new HttpError(status, { message });
/** Grape validation / error!(string): {"error": ...} */
export const grapeError = (message: string, status = 400): HttpError =>
  new HttpError(status, { error: message });
export const notFound = (resource?: string): HttpError =>
  apiError(404, resource ? `404 ${resource} Not Found` : "404 Not Found");
/** ActiveRecord::RecordNotFound rescued by API::API */
export const recordNotFound = (): HttpError => apiError(404, "404 Not found");
export const forbidden = (reason?: string): HttpError =>
  apiError(403, reason ? `403 Forbidden - ${reason}` : "403 Forbidden");
export const badRequest = (reason?: unknown): HttpError =>
  apiError(400, reason === undefined ? "400 Bad request" : `400 Bad request - ${rubyToS(reason)}`);
export const unauthorized = (): HttpError => apiError(401, "401 Unauthorized");

/** Ruby's Array#to_s / String#to_s, as used when GitLab interpolates service messages. */
export function rubyToS(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => JSON.stringify(String(v))).join(", ")}]`;
  return String(value);
}

/** ActiveSupport Array#to_sentence */
export function toSentence(items: string[]): string {
  if (items.length <= 1) return items.join("");
  if (items.length === 2) return `${items[0]} and ${items[1]}`;
  return `${items.slice(0, -1).join(", ")}, and ${items[items.length - 1]}`;
}

export const now = (): string => new Date().toISOString();
export const sha1Hex = (): string => crypto.randomBytes(20).toString("hex");
export const randomToken = (length: number): string =>
  crypto.randomBytes(length).toString("base64url").replace(/[-_]/g, "x").slice(0, length);
export const gitBlobId = (content: Buffer): string =>
  crypto
    .createHash("sha1")
    .update(Buffer.concat([Buffer.from(`blob ${content.length}\0`), content]))
    .digest("hex");

/** MergeRequest draft title prefixes (app/models/concerns/issuable.rb, MergeRequest::DRAFT_REGEX). */
export const DRAFT_RE = /^\s*(\[draft\]|\(draft\)|draft:|draft\s-|\[wip\]|wip:)/i;
export const TOKEN_QUERY_KEYS = new Set(["private_token", "job_token", "access_token", "token"]);
export const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function matchesPattern(path: string, pattern: string | RegExp | undefined): boolean {
  if (pattern === undefined) return true;
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // keep raw
  }
  if (typeof pattern === "string") return path.includes(pattern) || decoded.includes(pattern);
  return pattern.test(path) || pattern.test(decoded);
}

export function parseQuery(search: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [rawKey, value] of new URLSearchParams(search)) {
    if (rawKey.endsWith("[]")) {
      const key = rawKey.slice(0, -2);
      const prev = out[key];
      out[key] = Array.isArray(prev) ? [...prev, value] : prev === undefined ? [value] : [prev, value];
    } else {
      out[rawKey] = value;
    }
  }
  return out;
}

export function redactQuery(query: Record<string, string | string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(query)) out[k] = TOKEN_QUERY_KEYS.has(k) ? "[REDACTED]" : v;
  return out;
}

// Grape-style parameter readers ---------------------------------------------------------------

export function has(p: Params, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(p, key) && p[key] !== undefined;
}

export function requireParams(p: Params, ...keys: string[]): void {
  const missing = keys.filter((k) => !has(p, k) || p[k] === null);
  if (missing.length) throw grapeError(missing.map((k) => `${k} is missing`).join(", "));
}

export function pStr(p: Params, key: string): string | null | undefined {
  if (!has(p, key)) return undefined;
  const v = p[key];
  if (v === null) return null;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  throw grapeError(`${key} is invalid`);
}

export function pInt(p: Params, key: string): number | null | undefined {
  if (!has(p, key)) return undefined;
  const v = p[key];
  if (v === null || v === "") return null;
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "string" && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  throw grapeError(`${key} is invalid`);
}

export function pBool(p: Params, key: string): boolean | undefined {
  if (!has(p, key)) return undefined;
  const v = p[key];
  if (v === true || v === false) return v;
  if (v === 1 || v === "1" || v === "true" || v === "t" || v === "yes") return true;
  if (v === 0 || v === "0" || v === "false" || v === "f" || v === "no") return false;
  throw grapeError(`${key} is invalid`);
}

export function pValues<T extends string>(p: Params, key: string, values: readonly T[]): T | undefined {
  const v = pStr(p, key);
  if (v === undefined || v === null) return undefined;
  if (!(values as readonly string[]).includes(v)) throw grapeError(`${key} does not have a valid value`);
  return v as T;
}

/** API::Validations::Types::CommaSeparatedToArray */
export function pList(p: Params, key: string): string[] | undefined {
  if (!has(p, key)) return undefined;
  const v = p[key];
  if (v === null) return [];
  const parts = Array.isArray(v) ? v.flatMap((x) => String(x).split(",")) : String(v).split(",");
  return parts.map((s) => s.trim());
}

/** acts-as-taggable TagList normalisation: strip, drop blanks, unique. */
export function normaliseTags(list: string[]): string[] {
  const out: string[] = [];
  for (const t of list.map((s) => s.trim()).filter(Boolean)) if (!out.includes(t)) out.push(t);
  return out;
}

export function pIntList(p: Params, key: string): number[] | undefined {
  const list = pList(p, key);
  if (list === undefined) return undefined;
  return list.filter(Boolean).map((s) => {
    if (!/^\d+$/.test(s)) throw grapeError(`${key} is invalid`);
    return Number(s);
  });
}

// ---------------------------------------------------------------------------------------------
// Routing types
// ---------------------------------------------------------------------------------------------

export interface AuthInfo {
  kind: "token" | "job";
  user: FakeUser;
  token?: FakeToken;
  job?: FakeJobToken;
}

export interface Ctx {
  method: string;
  rawPath: string;
  query: Record<string, string | string[]>;
  params: Params;
  route: Params;
  auth: AuthInfo | null;
}

export interface Reply {
  status: number;
  body?: unknown;
}

export interface Route {
  method: string;
  pattern: string;
  segments: string[];
  handler: (ctx: Ctx) => Reply;
  /** Extra token scopes accepted besides `api` (and `read_api` on GET). */
  scopes?: string[];
  /** Extra scopes accepted only for GET. */
  getScopes?: string[];
  /** Accept every scope (personal_access_tokens/self). */
  anyScope?: boolean;
  /** route_setting :authentication, job_token_allowed: true */
  jobToken?: boolean;
  /** Route params declared `type: Integer`. */
  intParams?: string[];
}

export const ok = (body: unknown, status = 200): Reply => ({ status, body });
export const created = (body: unknown): Reply => ({ status: 201, body });
export const noContent = (): Reply => ({ status: 204 });

export function isExpired(t: FakeToken): boolean {
  if (!t.expiresAt) return false;
  return t.expiresAt <= new Date().toISOString().slice(0, 10);
}
