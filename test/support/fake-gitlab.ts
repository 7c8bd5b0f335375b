/**
 * A fake GitLab REST API (v4) for tests, served over real HTTP on 127.0.0.1.
 *
 * Tests drive the real `@gitbeaker/rest` client against it. Paths, parameters, status codes and
 * bodies follow GitLab's own code (gitlabhq/gitlabhq lib/api/*.rb, app/services, app/models) and
 * docs (doc/api/*.md); see the comments on each endpoint group.
 *
 * What @gitbeaker/rest 43.8.0 does with failures (node_modules/@gitbeaker/rest/dist/index.js,
 * `defaultRequestHandler`, built from jdalrymple/gitbeaker packages/rest/src/Requester.ts):
 *  - It retries ONLY on 429 and 502: `retryCodes = [429, 502]`, `maxRetries = 10` attempts in total,
 *    sleeping `2 ** i * 0.25` MILLISECONDS between attempts (0.25 ms, 0.5 ms, ... 128 ms; about 256 ms
 *    in all, Node rounds sub-millisecond timeouts up to 1 ms). It ignores `Retry-After`.
 *    (The shared reference says `2**i*250` ms, about 256 s; that is wrong for the installed build.)
 *  - After 10 failed attempts it throws `GitbeakerRetryError` ("Could not successfully complete this
 *    request after 10 retries, last status code: 429. ...").
 *  - Every other non-2xx status (400, 401, 403, 404, 409, 500, 503, 504, ...) throws
 *    `GitbeakerRequestError` at once, with no retry. Network errors are rethrown unchanged (a
 *    TimeoutError/AbortError becomes `GitbeakerTimeoutError`).
 *  So a single 429 or 502 is invisible to gitbeaker callers, a 500/503 is not retried at all, and a
 *  longer 429 storm exhausts its budget in about a quarter of a second. Our API module must add its
 *  own retry (honouring `Retry-After`) for 429/5xx.
 *
 * How gitbeaker exposes an HTTP error (`throwFailedRequestError` in the same file):
 *  - `err instanceof GitbeakerRequestError` (exported by @gitbeaker/rest), `err.message === err.cause.description`.
 *  - `err.cause.description`: for a JSON body, `body.error || body.message` (a string as is, anything else
 *    JSON.stringify'd, e.g. the MR 409 `'["Another open merge request already exists ..."]'`); for any
 *    other content type, the raw text.
 *  - `err.cause.response`: the fetch `Response` (`status`, `statusText`, `headers`); its body has already
 *    been read (`bodyUsed === true`), so the description is the only copy of the body.
 *  - `err.cause.request`: the fetch `Request`.
 *
 * Known gitbeaker 43.8.0 traps this fake makes visible:
 *  - `Agents.createToken` is built as a GET (dist/index.js), so against GitLab it LISTS the tokens and
 *    creates nothing. Use `api.Agents.requester.post(`projects/${id}/cluster_agents/${agentId}/tokens`,
 *    { body: { name, description } })` instead (it returns `{ body, headers, status }`).
 *  - There are no URL-configuration methods; use `requester.get/post/delete` the same way.
 *
 * Deliberate simplifications are listed in `FakeGitlab`'s doc comment.
 */
import * as http from "node:http";
import * as crypto from "node:crypto";
import { URL, URLSearchParams } from "node:url";

// ---------------------------------------------------------------------------------------------
// State types
// ---------------------------------------------------------------------------------------------

/** GitLab access levels (lib/gitlab/access.rb). */
export const AccessLevel = {
  NO_ACCESS: 0,
  MINIMAL_ACCESS: 5,
  GUEST: 10,
  PLANNER: 15,
  REPORTER: 20,
  DEVELOPER: 30,
  MAINTAINER: 40,
  OWNER: 50,
} as const;
export type AccessLevelValue = (typeof AccessLevel)[keyof typeof AccessLevel];

export type Visibility = "private" | "internal" | "public";

export interface FakeUser {
  id: number;
  username: string;
  name: string;
  email: string;
  isAdmin: boolean;
  bot: boolean;
  state: "active" | "blocked";
  createdAt: string;
}

/** A personal, project or group access token (all are PersonalAccessToken rows in GitLab). */
export interface FakeToken {
  id: number;
  /** The secret. Never logged by the fake. */
  token: string;
  name: string;
  description: string | null;
  userId: number;
  /** e.g. api, read_api, read_user, read_repository, write_repository, create_runner, manage_runner. */
  scopes: string[];
  revoked: boolean;
  /** YYYY-MM-DD or null. A token is expired from that day on. */
  expiresAt: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

/** A running CI job's CI_JOB_TOKEN. */
export interface FakeJobToken {
  token: string;
  jobId: number;
  userId: number;
  projectId: number;
}

export interface FakeGroup {
  id: number;
  name: string;
  path: string;
  parentId: number | null;
  description: string;
  visibility: Visibility;
  /** userId -> access level */
  members: Record<number, number>;
  createdAt: string;
}

export interface FakeRepoFile {
  content: Buffer;
  /** git blob sha1 of the content */
  blobId: string;
  lastCommitId: string;
  executeFilemode: boolean;
}

export interface FakeBranch {
  name: string;
  commitId: string;
  /** Protected branches need Maintainer to push (GitLab's default for the default branch). */
  protected: boolean;
}

export interface FakeProject {
  id: number;
  name: string;
  path: string;
  /** Owning group, or null for a personal project in `ownerUserId`'s namespace. */
  groupId: number | null;
  ownerUserId: number | null;
  description: string;
  visibility: Visibility;
  defaultBranch: string;
  /** userId -> access level */
  members: Record<number, number>;
  /** Project ids whose CI_JOB_TOKEN may access this project (besides itself). */
  jobTokenAllowlist: number[];
  branches: Record<string, FakeBranch>;
  /** branch -> file path -> file */
  files: Record<string, Record<string, FakeRepoFile>>;
  createdAt: string;
}

export interface FakeAgent {
  id: number;
  projectId: number;
  name: string;
  createdAt: string;
  createdByUserId: number | null;
}

export interface FakeAgentToken {
  id: number;
  agentId: number;
  name: string;
  description: string | null;
  status: "active" | "revoked";
  /** The secret (glagent-...). Only returned by the create call. */
  token: string;
  createdAt: string;
  createdByUserId: number | null;
  lastUsedAt: string | null;
}

export interface FakeUrlConfiguration {
  id: number;
  agentId: number;
  projectId: number;
  url: string;
  caCert: string | null;
  clientCert: string | null;
  clientKey: string | null;
  tlsHost: string | null;
  /** Base64 of the raw 32-byte Ed25519 public key (JWT mode) */
  publicKey: string | null;
  createdByUserId: number | null;
}

export type EnvironmentTier = "production" | "staging" | "testing" | "development" | "other";

export interface FakeEnvironment {
  id: number;
  projectId: number;
  name: string;
  slug: string;
  description: string | null;
  externalUrl: string | null;
  tier: EnvironmentTier;
  state: "available" | "stopping" | "stopped";
  clusterAgentId: number | null;
  kubernetesNamespace: string | null;
  fluxResourcePath: string | null;
  autoStopSetting: "always" | "with_action";
  autoStopAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A deployment GitLab records for a job with `environment:` (lib/api/deployments.rb). */
export interface FakeDeployment {
  id: number;
  iid: number;
  projectId: number;
  environmentId: number;
  sha: string;
  ref: string;
  status: "created" | "running" | "success" | "failed" | "canceled" | "blocked";
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export type RunnerType = "instance_type" | "group_type" | "project_type";

export interface FakeRunner {
  id: number;
  runnerType: RunnerType;
  name: string | null;
  description: string;
  tagList: string[];
  runUntagged: boolean;
  locked: boolean;
  accessLevel: "not_protected" | "ref_protected";
  maximumTimeout: number | null;
  paused: boolean;
  maintenanceNote: string | null;
  projectIds: number[];
  groupId: number | null;
  creatorId: number | null;
  /** The secret (glrt-...). */
  token: string;
  tokenExpiresAt: string | null;
  contactedAt: string | null;
  createdAt: string;
}

export interface FakeMergeRequest {
  id: number;
  iid: number;
  projectId: number;
  title: string;
  description: string | null;
  state: "opened" | "closed" | "merged" | "locked";
  sourceBranch: string;
  targetBranch: string;
  labels: string[];
  authorId: number;
  assigneeIds: number[];
  reviewerIds: number[];
  squash: boolean;
  removeSourceBranch: boolean;
  sha: string | null;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  mergedAt: string | null;
}

export interface FakeIssue {
  id: number;
  iid: number;
  projectId: number;
  title: string;
  description: string | null;
  state: "opened" | "closed";
  labels: string[];
  authorId: number;
  assigneeIds: number[];
  confidential: boolean;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  closedById: number | null;
}

export interface FakeNote {
  id: number;
  projectId: number;
  noteableType: "MergeRequest" | "Issue";
  /** The MR's or issue's global id */
  noteableId: number;
  noteableIid: number;
  body: string;
  authorId: number;
  system: boolean;
  internal: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface FakeCommitAction {
  action: "create" | "update" | "delete" | "move" | "chmod";
  filePath: string;
  previousPath?: string;
}

export interface FakeCommit {
  id: string;
  projectId: number;
  branch: string;
  message: string;
  parentIds: string[];
  authorName: string;
  authorEmail: string;
  actions: FakeCommitAction[];
  createdAt: string;
}

export interface FakeKas {
  enabled: boolean;
  externalUrl: string | null;
  externalK8sProxyUrl: string | null;
  version: string | null;
}

export interface FakeInstance {
  /** e.g. "17.6.0-ee" */
  version: string;
  revision: string;
  /** true for the Enterprise Edition */
  enterprise: boolean;
  kas: FakeKas;
  /** ApplicationSetting receptive_cluster_agents_enabled (Ultimate, self-managed). */
  receptiveAgentsEnabled: boolean;
}

export interface FakeGitlabState {
  instance: FakeInstance;
  users: FakeUser[];
  tokens: FakeToken[];
  jobTokens: FakeJobToken[];
  groups: FakeGroup[];
  projects: FakeProject[];
  agents: FakeAgent[];
  agentTokens: FakeAgentToken[];
  deployments: FakeDeployment[];
  urlConfigurations: FakeUrlConfiguration[];
  environments: FakeEnvironment[];
  runners: FakeRunner[];
  mergeRequests: FakeMergeRequest[];
  issues: FakeIssue[];
  notes: FakeNote[];
  /** Every commit made through the API (files and commits endpoints), oldest first. */
  commits: FakeCommit[];
}

export interface RequestLogEntry {
  method: string;
  /** Raw request path as sent, e.g. /api/v4/projects/group%2Fproj/cluster_agents */
  path: string;
  /** Query parameters; token-bearing keys are replaced by "[REDACTED]". */
  query: Record<string, string | string[]>;
  status: number;
  /** The matched route pattern, e.g. "POST /projects/:id/cluster_agents"; undefined if none matched. */
  route?: string;
}

export interface FailNextOptions {
  method?: string;
  /** Substring of, or RegExp tested against, the raw path (and the percent-decoded path). */
  pathPattern?: string | RegExp;
  status: 429 | 500 | 502 | 503;
  /** Retry-After for 429 (default 1). */
  retryAfterSeconds?: number;
  /** How many matching requests fail (default 1). */
  times?: number;
}

export interface RequestFilter {
  method?: string;
  pathPattern?: string | RegExp;
  status?: number;
}

export interface FakeGitlabOptions {
  instance?: Partial<Omit<FakeInstance, "kas">> & { kas?: Partial<FakeKas> };
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

type Params = Record<string, unknown>;

class HttpError extends Error {
  constructor(
    public readonly status: number,
    public readonly body: unknown,
    public readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

/** render_api_error!: {"message": ...} */
const apiError = (status: number, message: unknown): HttpError => new HttpError(status, { message });
/** Grape validation / error!(string): {"error": ...} */
const grapeError = (message: string, status = 400): HttpError => new HttpError(status, { error: message });
const notFound = (resource?: string): HttpError =>
  apiError(404, resource ? `404 ${resource} Not Found` : "404 Not Found");
/** ActiveRecord::RecordNotFound rescued by API::API */
const recordNotFound = (): HttpError => apiError(404, "404 Not found");
const forbidden = (reason?: string): HttpError =>
  apiError(403, reason ? `403 Forbidden - ${reason}` : "403 Forbidden");
const badRequest = (reason?: unknown): HttpError =>
  apiError(400, reason === undefined ? "400 Bad request" : `400 Bad request - ${rubyToS(reason)}`);
const unauthorized = (): HttpError => apiError(401, "401 Unauthorized");

/** Ruby's Array#to_s / String#to_s, as used when GitLab interpolates service messages. */
function rubyToS(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => JSON.stringify(String(v))).join(", ")}]`;
  return String(value);
}

/** ActiveSupport Array#to_sentence */
function toSentence(items: string[]): string {
  if (items.length <= 1) return items.join("");
  if (items.length === 2) return `${items[0]} and ${items[1]}`;
  return `${items.slice(0, -1).join(", ")}, and ${items[items.length - 1]}`;
}

const now = (): string => new Date().toISOString();
const sha1Hex = (): string => crypto.randomBytes(20).toString("hex");
const randomToken = (length: number): string =>
  crypto.randomBytes(length).toString("base64url").replace(/[-_]/g, "x").slice(0, length);
const gitBlobId = (content: Buffer): string =>
  crypto
    .createHash("sha1")
    .update(Buffer.concat([Buffer.from(`blob ${content.length}\0`), content]))
    .digest("hex");

/** MergeRequest draft title prefixes (app/models/concerns/issuable.rb, MergeRequest::DRAFT_REGEX). */
const DRAFT_RE = /^\s*(\[draft\]|\(draft\)|draft:|draft\s-|\[wip\]|wip:)/i;
const TOKEN_QUERY_KEYS = new Set(["private_token", "job_token", "access_token", "token"]);
const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

function matchesPattern(path: string, pattern: string | RegExp | undefined): boolean {
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

function parseQuery(search: string): Record<string, string | string[]> {
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

function redactQuery(query: Record<string, string | string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(query)) out[k] = TOKEN_QUERY_KEYS.has(k) ? "[REDACTED]" : v;
  return out;
}

// Grape-style parameter readers ---------------------------------------------------------------

function has(p: Params, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(p, key) && p[key] !== undefined;
}

function requireParams(p: Params, ...keys: string[]): void {
  const missing = keys.filter((k) => !has(p, k) || p[k] === null);
  if (missing.length) throw grapeError(missing.map((k) => `${k} is missing`).join(", "));
}

function pStr(p: Params, key: string): string | null | undefined {
  if (!has(p, key)) return undefined;
  const v = p[key];
  if (v === null) return null;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  throw grapeError(`${key} is invalid`);
}

function pInt(p: Params, key: string): number | null | undefined {
  if (!has(p, key)) return undefined;
  const v = p[key];
  if (v === null || v === "") return null;
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "string" && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  throw grapeError(`${key} is invalid`);
}

function pBool(p: Params, key: string): boolean | undefined {
  if (!has(p, key)) return undefined;
  const v = p[key];
  if (v === true || v === false) return v;
  if (v === 1 || v === "1" || v === "true" || v === "t" || v === "yes") return true;
  if (v === 0 || v === "0" || v === "false" || v === "f" || v === "no") return false;
  throw grapeError(`${key} is invalid`);
}

function pValues<T extends string>(p: Params, key: string, values: readonly T[]): T | undefined {
  const v = pStr(p, key);
  if (v === undefined || v === null) return undefined;
  if (!(values as readonly string[]).includes(v)) throw grapeError(`${key} does not have a valid value`);
  return v as T;
}

/** API::Validations::Types::CommaSeparatedToArray */
function pList(p: Params, key: string): string[] | undefined {
  if (!has(p, key)) return undefined;
  const v = p[key];
  if (v === null) return [];
  const parts = Array.isArray(v) ? v.flatMap((x) => String(x).split(",")) : String(v).split(",");
  return parts.map((s) => s.trim());
}

/** acts-as-taggable TagList normalisation: strip, drop blanks, unique. */
function normaliseTags(list: string[]): string[] {
  const out: string[] = [];
  for (const t of list.map((s) => s.trim()).filter(Boolean)) if (!out.includes(t)) out.push(t);
  return out;
}

function pIntList(p: Params, key: string): number[] | undefined {
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

interface AuthInfo {
  kind: "token" | "job";
  user: FakeUser;
  token?: FakeToken;
  job?: FakeJobToken;
}

interface Ctx {
  method: string;
  rawPath: string;
  query: Record<string, string | string[]>;
  params: Params;
  route: Params;
  auth: AuthInfo | null;
}

interface Reply {
  status: number;
  body?: unknown;
}

interface Route {
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

const ok = (body: unknown, status = 200): Reply => ({ status, body });
const created = (body: unknown): Reply => ({ status: 201, body });
const noContent = (): Reply => ({ status: 204 });

// ---------------------------------------------------------------------------------------------
// The fake
// ---------------------------------------------------------------------------------------------

/**
 * A running fake GitLab.
 *
 * Simplifications (deliberate):
 *  - Link headers carry the request's query parameters plus page/per_page, sorted, without route
 *    params (GitLab also echoes `id` etc.); token parameters are never echoed.
 *  - One implicit Ed25519 keypair per URL configuration; certificates are not validated beyond being present.
 *  - Permissions are the access-level thresholds noted on each handler, not GitLab's full policy engine.
 *    Admins pass every role check. Public/internal projects are readable by any signed-in user.
 *  - Unmatched paths answer as API::API's catch-all route does (`error!('404 Not Found', 404)`), i.e.
 *    404 `{"error":"404 Not Found"}`; gitbeaker's description is "404 Not Found" either way.
 *  - Job tokens: the job's user, limited to the job's project and projects that allowlist it, and only
 *    on routes GitLab marks job_token_allowed (environments, GET merge requests, GET MR notes, GET
 *    branches, GET raw file); on any other route the job token is ignored, so the answer is 401.
 */
export interface FakeGitlab {
  /** e.g. http://127.0.0.1:41234 (no trailing slash); pass as gitbeaker's `host`. */
  readonly url: string;
  readonly state: FakeGitlabState;
  /** Every request, in arrival order. */
  readonly requests: RequestLogEntry[];
  close(): Promise<void>;

  failNext(options: FailNextOptions): void;
  /**
   * The next matching request is carried out as usual, but its answer is held back for `delayMs`: what a
   * client sees when GitLab did the work and the response was lost or late (the client times out).
   */
  answerLate(options: { method?: string; pathPattern?: string | RegExp; delayMs: number }): void;
  /** Pending injected faults. */
  pendingFaults(): number;
  clearFaults(): void;

  requestsMatching(filter?: RequestFilter): RequestLogEntry[];
  countRequests(filter?: RequestFilter): number;
  /** POST/PUT/PATCH/DELETE requests (any status unless filtered). */
  mutatingRequests(filter?: Omit<RequestFilter, "method">): RequestLogEntry[];
  countMutatingRequests(filter?: Omit<RequestFilter, "method">): number;
  clearRequests(): void;

  // Seeding helpers (they write `state` directly; nothing is logged) -----------------------
  addUser(input: {
    username: string;
    name?: string;
    email?: string;
    isAdmin?: boolean;
    bot?: boolean;
  }): FakeUser;
  /** Returns the token; `token.token` is the secret to send. */
  addToken(input: {
    userId: number;
    scopes: string[];
    name?: string;
    token?: string;
    expiresAt?: string | null;
    revoked?: boolean;
  }): FakeToken;
  addJobToken(input: { userId: number; projectId: number; token?: string }): FakeJobToken;
  addGroup(input: {
    path: string;
    name?: string;
    parentId?: number | null;
    visibility?: Visibility;
    members?: Record<number, number>;
  }): FakeGroup;
  addProject(input: {
    path: string;
    name?: string;
    groupId?: number | null;
    ownerUserId?: number | null;
    visibility?: Visibility;
    defaultBranch?: string;
    members?: Record<number, number>;
    description?: string;
  }): FakeProject;
  setMember(target: { projectId: number } | { groupId: number }, userId: number, level: number): void;
  addBranch(projectId: number, name: string, options?: { from?: string; protected?: boolean }): FakeBranch;
  /** Seeds a file without recording a commit. */
  /**
   * A `git push` of commit `sha` (default: a new random one) to `branch`, as GitLab receives it: the commit
   * becomes known to the project (refs and `POST /repository/branches` accept it), the branch (created when
   * missing) points at it, and open merge requests from the branch follow. Files do not change.
   */
  pushCommit(projectId: number, branch: string, sha?: string): FakeCommit;
  putFile(projectId: number, branch: string, filePath: string, content: string | Buffer): FakeRepoFile;
  /** File content as UTF-8, or undefined. */
  readFile(projectId: number, branch: string, filePath: string): string | undefined;
  addAgent(input: { projectId: number; name: string; createdByUserId?: number | null }): FakeAgent;
  addAgentToken(input: {
    agentId: number;
    name: string;
    description?: string | null;
    status?: "active" | "revoked";
    lastUsedAt?: string | null;
  }): FakeAgentToken;
  addEnvironment(
    input: Partial<Omit<FakeEnvironment, "id" | "projectId" | "name">> & {
      projectId: number;
      name: string;
    },
  ): FakeEnvironment;
  /**
   * What GitLab records when a job with `environment: NAME` runs (the environment is created if missing);
   * gitlab-ci-local does not talk to GitLab, so tests record the up job's deployment themselves.
   */
  addDeployment(input: {
    projectId: number;
    environment: string;
    sha: string;
    ref: string;
    status?: FakeDeployment["status"];
  }): FakeDeployment;
  addRunner(input: Partial<Omit<FakeRunner, "id" | "runnerType">> & { runnerType: RunnerType }): FakeRunner;
  /**
   * What GitLab does when a user merges an open merge request: a merge commit on the target branch whose
   * parents are the target head and the merge request's head, state merged, and the source branch deleted
   * when the merge request says so (force_remove_source_branch).
   */
  mergeMergeRequest(projectId: number, iid: number): FakeCommit;
  addMergeRequest(
    input: Partial<Omit<FakeMergeRequest, "id" | "iid">> & {
      projectId: number;
      sourceBranch: string;
      targetBranch: string;
      title: string;
      authorId: number;
    },
  ): FakeMergeRequest;
  addIssue(
    input: Partial<Omit<FakeIssue, "id" | "iid">> & { projectId: number; title: string; authorId: number },
  ): FakeIssue;
  addNote(input: {
    projectId: number;
    noteableType: "MergeRequest" | "Issue";
    noteableIid: number;
    body: string;
    authorId: number;
    system?: boolean;
  }): FakeNote;
  /** API commits for a project (and branch), oldest first. */
  commitsFor(projectId: number, branch?: string): FakeCommit[];
}

interface Fault {
  method?: string;
  pathPattern?: string | RegExp;
  status: 429 | 500 | 502 | 503;
  retryAfterSeconds: number;
  remaining: number;
}

const DEFAULT_INSTANCE: FakeInstance = {
  version: "17.6.0-ee",
  revision: "a1b2c3d4e5f",
  enterprise: true,
  kas: {
    enabled: true,
    externalUrl: "wss://kas.gitlab.example.com",
    externalK8sProxyUrl: "https://kas.gitlab.example.com/k8s-proxy",
    version: "17.6.0",
  },
  receptiveAgentsEnabled: false,
};

export async function startFakeGitlab(options: FakeGitlabOptions = {}): Promise<FakeGitlab> {
  const state: FakeGitlabState = {
    instance: {
      ...DEFAULT_INSTANCE,
      ...options.instance,
      kas: { ...DEFAULT_INSTANCE.kas, ...options.instance?.kas },
    },
    users: [],
    tokens: [],
    jobTokens: [],
    groups: [],
    projects: [],
    agents: [],
    agentTokens: [],
    deployments: [],
    urlConfigurations: [],
    environments: [],
    runners: [],
    mergeRequests: [],
    issues: [],
    notes: [],
    commits: [],
  };
  const requests: RequestLogEntry[] = [];
  let faults: Fault[] = [];
  let lateAnswers: { method?: string; pathPattern?: string | RegExp; delayMs: number }[] = [];
  const counters = new Map<string, number>();
  const nextId = (kind: string): number => {
    const n = (counters.get(kind) ?? 0) + 1;
    counters.set(kind, n);
    return n;
  };
  const nextIid = (kind: string, projectId: number): number => nextId(`${kind}:${projectId}`);
  let baseUrl = "";

  // ------------------------------------------------------------------------------------------
  // Lookups and permissions
  // ------------------------------------------------------------------------------------------

  const userById = (id: number | null | undefined): FakeUser | undefined =>
    id == null ? undefined : state.users.find((u) => u.id === id);
  const groupById = (id: number | null | undefined): FakeGroup | undefined =>
    id == null ? undefined : state.groups.find((g) => g.id === id);
  const projectById = (id: number): FakeProject | undefined => state.projects.find((p) => p.id === id);

  const groupFullPath = (g: FakeGroup): string => {
    const parent = groupById(g.parentId);
    return parent ? `${groupFullPath(parent)}/${g.path}` : g.path;
  };
  const groupFullName = (g: FakeGroup): string => {
    const parent = groupById(g.parentId);
    return parent ? `${groupFullName(parent)} / ${g.name}` : g.name;
  };
  const namespaceOf = (p: FakeProject) => {
    const g = groupById(p.groupId);
    if (g) {
      return {
        id: g.id,
        name: g.name,
        path: g.path,
        kind: "group",
        full_path: groupFullPath(g),
        fullName: groupFullName(g),
        parent_id: g.parentId,
        web_url: `${baseUrl}/groups/${groupFullPath(g)}`,
      };
    }
    const u = userById(p.ownerUserId);
    const username = u?.username ?? "unknown";
    return {
      id: 1000 + (u?.id ?? 0),
      name: u?.name ?? username,
      path: username,
      kind: "user",
      full_path: username,
      fullName: u?.name ?? username,
      parent_id: null,
      web_url: `${baseUrl}/${username}`,
    };
  };
  const projectFullPath = (p: FakeProject): string => `${namespaceOf(p).full_path}/${p.path}`;
  const projectFullName = (p: FakeProject): string => `${namespaceOf(p).fullName} / ${p.name}`;

  const groupLevel = (user: FakeUser, g: FakeGroup | undefined): number => {
    let level = 0;
    for (let cur = g; cur; cur = groupById(cur.parentId)) level = Math.max(level, cur.members[user.id] ?? 0);
    return level;
  };
  const projectLevel = (user: FakeUser, p: FakeProject): number => {
    if (user.isAdmin) return AccessLevel.OWNER;
    let level = p.members[user.id] ?? 0;
    if (p.ownerUserId === user.id) level = AccessLevel.OWNER;
    return Math.max(level, groupLevel(user, groupById(p.groupId)));
  };
  const groupLevelFor = (user: FakeUser, g: FakeGroup): number =>
    user.isAdmin ? AccessLevel.OWNER : groupLevel(user, g);

  const jobMayAccess = (auth: AuthInfo, p: FakeProject): boolean =>
    auth.kind !== "job" || auth.job!.projectId === p.id || p.jobTokenAllowlist.includes(auth.job!.projectId);

  const canReadProject = (auth: AuthInfo, p: FakeProject): boolean => {
    if (!jobMayAccess(auth, p)) return false;
    if (auth.user.isAdmin) return true;
    return projectLevel(auth.user, p) >= AccessLevel.GUEST || p.visibility !== "private";
  };
  const canReadGroup = (auth: AuthInfo, g: FakeGroup): boolean =>
    auth.user.isAdmin || groupLevel(auth.user, g) >= AccessLevel.GUEST || g.visibility !== "private";

  const findProject = (id: string): FakeProject | undefined => {
    if (/^\d+$/.test(id)) return projectById(Number(id));
    const lower = id.toLowerCase();
    return state.projects.find((p) => projectFullPath(p).toLowerCase() === lower);
  };
  const findGroup = (id: string): FakeGroup | undefined => {
    if (/^\d+$/.test(id)) return groupById(Number(id));
    const lower = id.toLowerCase();
    return state.groups.find((g) => groupFullPath(g).toLowerCase() === lower);
  };

  /** find_project!: 404 Project Not Found unless readable. */
  const userProject = (ctx: Ctx): FakeProject => {
    const p = findProject(String(ctx.route.id));
    if (!p || !canReadProject(ctx.auth!, p)) throw notFound("Project");
    return p;
  };
  const userGroup = (ctx: Ctx): FakeGroup => {
    const g = findGroup(String(ctx.route.id));
    if (!g || !canReadGroup(ctx.auth!, g)) throw notFound("Group");
    return g;
  };
  const level = (ctx: Ctx, p: FakeProject): number => projectLevel(ctx.auth!.user, p);
  const authorize = (ok: boolean): void => {
    if (!ok) throw forbidden();
  };
  const readsPublicly = (ctx: Ctx, p: FakeProject, privateMin: number): boolean =>
    level(ctx, p) >= privateMin || (p.visibility !== "private" && canReadProject(ctx.auth!, p));

  // ------------------------------------------------------------------------------------------
  // Entities
  // ------------------------------------------------------------------------------------------

  const userBasic = (u: FakeUser | undefined) =>
    u
      ? {
          id: u.id,
          username: u.username,
          name: u.name,
          state: u.state,
          locked: false,
          avatar_url: null,
          web_url: `${baseUrl}/${u.username}`,
        }
      : null;

  const projectIdentity = (p: FakeProject) => ({
    id: p.id,
    description: p.description,
    name: p.name,
    name_with_namespace: projectFullName(p),
    path: p.path,
    path_with_namespace: projectFullPath(p),
    created_at: p.createdAt,
  });
  const basicProject = (p: FakeProject) => ({
    ...projectIdentity(p),
    default_branch: p.defaultBranch,
    tag_list: [],
    topics: [],
    ssh_url_to_repo: `git@127.0.0.1:${projectFullPath(p)}.git`,
    http_url_to_repo: `${baseUrl}/${projectFullPath(p)}.git`,
    web_url: `${baseUrl}/${projectFullPath(p)}`,
    avatar_url: null,
    star_count: 0,
    last_activity_at: p.createdAt,
    visibility: p.visibility,
    namespace: (({ fullName: _f, ...rest }) => rest)(namespaceOf(p)),
  });
  const projectEntity = (p: FakeProject, auth: AuthInfo) => {
    const direct = p.members[auth.user.id];
    const inherited = groupLevel(auth.user, groupById(p.groupId));
    return {
      ...basicProject(p),
      archived: false,
      empty_repo: Object.keys(p.branches).length === 0,
      creator_id: p.ownerUserId,
      permissions: {
        project_access: direct ? { access_level: direct, notification_level: 3 } : null,
        group_access: inherited ? { access_level: inherited, notification_level: 3 } : null,
      },
    };
  };
  const groupEntity = (g: FakeGroup) => ({
    id: g.id,
    web_url: `${baseUrl}/groups/${groupFullPath(g)}`,
    name: g.name,
    path: g.path,
    description: g.description,
    visibility: g.visibility,
    full_name: groupFullName(g),
    full_path: groupFullPath(g),
    parent_id: g.parentId,
    created_at: g.createdAt,
    avatar_url: null,
  });
  const agentEntity = (a: FakeAgent) => ({
    id: a.id,
    name: a.name,
    config_project: projectIdentity(projectById(a.projectId)!),
    created_at: a.createdAt,
    created_by_user_id: a.createdByUserId,
  });
  const agentTokenBasic = (t: FakeAgentToken) => ({
    id: t.id,
    name: t.name,
    description: t.description,
    agent_id: t.agentId,
    status: t.status,
    created_at: t.createdAt,
    created_by_user_id: t.createdByUserId,
  });
  const urlConfigEntity = (c: FakeUrlConfiguration) => ({
    id: c.id,
    agent_id: c.agentId,
    url: c.url,
    public_key: c.publicKey,
    client_cert: c.clientCert === null ? null : Buffer.from(c.clientCert).toString("base64"),
    ca_cert: c.caCert === null ? null : Buffer.from(c.caCert).toString("base64"),
    tls_host: c.tlsHost,
  });
  const environmentEntity = (e: FakeEnvironment, withProject = true) => {
    const agent = e.clusterAgentId === null ? undefined : state.agents.find((a) => a.id === e.clusterAgentId);
    return {
      id: e.id,
      name: e.name,
      slug: e.slug,
      description: e.description,
      external_url: e.externalUrl,
      created_at: e.createdAt,
      updated_at: e.updatedAt,
      tier: e.tier,
      ...(withProject ? { project: basicProject(projectById(e.projectId)!) } : {}),
      state: e.state,
      auto_stop_at: e.autoStopAt,
      auto_stop_setting: e.autoStopSetting,
      cluster_agent: agent ? agentEntity(agent) : null,
      kubernetes_namespace: e.kubernetesNamespace,
      flux_resource_path: e.fluxResourcePath,
    };
  };
  const runnerStatus = (r: FakeRunner): string => {
    if (r.contactedAt === null) return "never_contacted";
    if (r.paused) return "paused";
    return Date.now() - Date.parse(r.contactedAt) < 2 * 3600 * 1000 ? "online" : "offline";
  };
  const runnerEntity = (r: FakeRunner) => ({
    id: r.id,
    description: r.description,
    ip_address: null,
    active: !r.paused,
    paused: r.paused,
    is_shared: r.runnerType === "instance_type",
    runner_type: r.runnerType,
    name: r.name,
    online: runnerStatus(r) === "online",
    created_at: r.createdAt,
    status: runnerStatus(r),
    job_execution_status: "idle",
  });
  const runnerDetails = (r: FakeRunner, auth: AuthInfo) => ({
    ...runnerEntity(r),
    tag_list: r.tagList,
    run_untagged: r.runUntagged,
    locked: r.locked,
    maximum_timeout: r.maximumTimeout,
    access_level: r.accessLevel,
    version: null,
    revision: null,
    platform: null,
    architecture: null,
    contacted_at: r.contactedAt,
    maintenance_note: canAdminRunner(auth, r) ? r.maintenanceNote : null,
    projects: r.projectIds
      .map(projectById)
      .filter((p): p is FakeProject => !!p && canReadProject(auth, p))
      .map(basicProject),
    groups:
      r.groupId === null ? [] : [groupById(r.groupId)].filter((g): g is FakeGroup => !!g).map(groupEntity),
  });
  const mrEntity = (mr: FakeMergeRequest) => {
    const p = projectById(mr.projectId)!;
    const full = projectFullPath(p);
    const assignees = mr.assigneeIds.map((id) => userBasic(userById(id))).filter(Boolean);
    const noteCount = state.notes.filter(
      (n) => n.noteableType === "MergeRequest" && n.noteableId === mr.id && !n.system,
    ).length;
    return {
      id: mr.id,
      iid: mr.iid,
      project_id: mr.projectId,
      title: mr.title,
      description: mr.description,
      state: mr.state,
      created_at: mr.createdAt,
      updated_at: mr.updatedAt,
      merged_by: null,
      merge_user: null,
      merged_at: mr.mergedAt,
      closed_by: null,
      closed_at: mr.closedAt,
      target_branch: mr.targetBranch,
      source_branch: mr.sourceBranch,
      user_notes_count: noteCount,
      upvotes: 0,
      downvotes: 0,
      author: userBasic(userById(mr.authorId)),
      assignees,
      assignee: assignees[0] ?? null,
      reviewers: mr.reviewerIds.map((id) => userBasic(userById(id))).filter(Boolean),
      source_project_id: mr.projectId,
      target_project_id: mr.projectId,
      labels: mr.labels,
      draft: DRAFT_RE.test(mr.title),
      work_in_progress: DRAFT_RE.test(mr.title),
      milestone: null,
      merge_when_pipeline_succeeds: false,
      merge_status: "can_be_merged",
      detailed_merge_status: mr.state === "opened" ? "mergeable" : "not_open",
      sha: mr.sha,
      merge_commit_sha: null,
      squash_commit_sha: null,
      discussion_locked: null,
      should_remove_source_branch: null,
      force_remove_source_branch: mr.removeSourceBranch,
      reference: `!${mr.iid}`,
      references: { short: `!${mr.iid}`, relative: `!${mr.iid}`, full: `${full}!${mr.iid}` },
      web_url: `${baseUrl}/${full}/-/merge_requests/${mr.iid}`,
      time_stats: {
        time_estimate: 0,
        total_time_spent: 0,
        human_time_estimate: null,
        human_total_time_spent: null,
      },
      squash: mr.squash,
      squash_on_merge: mr.squash,
      task_completion_status: { count: 0, completed_count: 0 },
      has_conflicts: false,
      blocking_discussions_resolved: true,
    };
  };
  const issueEntity = (i: FakeIssue) => {
    const p = projectById(i.projectId)!;
    const full = projectFullPath(p);
    const assignees = i.assigneeIds.map((id) => userBasic(userById(id))).filter(Boolean);
    return {
      id: i.id,
      iid: i.iid,
      project_id: i.projectId,
      title: i.title,
      description: i.description,
      state: i.state,
      created_at: i.createdAt,
      updated_at: i.updatedAt,
      closed_at: i.closedAt,
      closed_by: userBasic(userById(i.closedById)),
      labels: i.labels,
      milestone: null,
      assignees,
      author: userBasic(userById(i.authorId)),
      type: "ISSUE",
      assignee: assignees[0] ?? null,
      user_notes_count: state.notes.filter(
        (n) => n.noteableType === "Issue" && n.noteableId === i.id && !n.system,
      ).length,
      merge_requests_count: 0,
      upvotes: 0,
      downvotes: 0,
      due_date: null,
      confidential: i.confidential,
      discussion_locked: null,
      issue_type: "issue",
      web_url: `${baseUrl}/${full}/-/issues/${i.iid}`,
      time_stats: {
        time_estimate: 0,
        total_time_spent: 0,
        human_time_estimate: null,
        human_total_time_spent: null,
      },
      task_completion_status: { count: 0, completed_count: 0 },
      references: { short: `#${i.iid}`, relative: `#${i.iid}`, full: `${full}#${i.iid}` },
    };
  };
  const noteEntity = (n: FakeNote) => ({
    id: n.id,
    type: null,
    body: n.body,
    attachment: null,
    author: userBasic(userById(n.authorId)),
    created_at: n.createdAt,
    updated_at: n.updatedAt,
    system: n.system,
    noteable_id: n.noteableId,
    noteable_type: n.noteableType,
    project_id: n.projectId,
    resolvable: false,
    confidential: n.internal,
    internal: n.internal,
    imported: false,
    imported_from: "none",
    noteable_iid: n.noteableIid,
    commands_changes: {},
  });
  const commitEntity = (c: FakeCommit) => {
    const p = projectById(c.projectId)!;
    const title = c.message.split("\n")[0];
    return {
      id: c.id,
      short_id: c.id.slice(0, 8),
      created_at: c.createdAt,
      parent_ids: c.parentIds,
      title,
      message: c.message,
      author_name: c.authorName,
      author_email: c.authorEmail,
      authored_date: c.createdAt,
      committer_name: c.authorName,
      committer_email: c.authorEmail,
      committed_date: c.createdAt,
      trailers: {},
      extended_trailers: {},
      web_url: `${baseUrl}/${projectFullPath(p)}/-/commit/${c.id}`,
      stats: { additions: 0, deletions: 0, total: 0 },
      status: null,
      project_id: c.projectId,
      last_pipeline: null,
    };
  };
  const branchEntity = (p: FakeProject, b: FakeBranch, auth: AuthInfo) => {
    const c = state.commits.find((x) => x.id === b.commitId);
    return {
      name: b.name,
      commit: c
        ? (({ web_url, id, short_id, created_at, parent_ids, title, message }) => ({
            id,
            short_id,
            created_at,
            parent_ids,
            title,
            message,
            web_url,
          }))(commitEntity(c))
        : { id: b.commitId, short_id: b.commitId.slice(0, 8), title: "Seeded", message: "Seeded" },
      merged: false,
      protected: b.protected,
      developers_can_push: !b.protected,
      developers_can_merge: !b.protected,
      can_push: projectLevel(auth.user, p) >= (b.protected ? AccessLevel.MAINTAINER : AccessLevel.DEVELOPER),
      default: b.name === p.defaultBranch,
      web_url: `${baseUrl}/${projectFullPath(p)}/-/tree/${encodeURIComponent(b.name)}`,
    };
  };

  // ------------------------------------------------------------------------------------------
  // Pagination (lib/gitlab/pagination/offset_pagination.rb + offset_header_builder.rb)
  // ------------------------------------------------------------------------------------------

  const paginationHeaders = new WeakMap<Ctx, Record<string, string>>();
  function paginate<T>(ctx: Ctx, items: T[]): T[] {
    const rawPage = pInt(ctx.params, "page");
    const rawPer = pInt(ctx.params, "per_page");
    const page = rawPage == null || rawPage < 1 ? 1 : rawPage;
    let perPage = rawPer == null || rawPer < 1 ? 20 : rawPer;
    if (perPage > 100) perPage = 100;
    const total = items.length;
    const totalPages = Math.max(1, Math.ceil(total / perPage));
    const outOfRange = page > totalPages;
    const next = !outOfRange && page < totalPages ? page + 1 : null;
    const prev = !outOfRange && page > 1 ? page - 1 : null;
    const href = (n: number): string => {
      const q: [string, string][] = [];
      for (const [k, v] of Object.entries(ctx.query)) {
        if (k === "page" || k === "per_page" || TOKEN_QUERY_KEYS.has(k)) continue;
        if (Array.isArray(v)) for (const x of v) q.push([`${k}[]`, x]);
        else q.push([k, v]);
      }
      q.push(["page", String(n)], ["per_page", String(perPage)]);
      q.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const qs = q.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
      return `${baseUrl}${ctx.rawPath}?${qs}`;
    };
    const links: string[] = [];
    if (prev) links.push(`<${href(prev)}>; rel="prev"`);
    if (next) links.push(`<${href(next)}>; rel="next"`);
    links.push(`<${href(1)}>; rel="first"`);
    links.push(`<${href(totalPages)}>; rel="last"`);
    paginationHeaders.set(ctx, {
      "x-per-page": String(perPage),
      "x-page": String(page),
      "x-next-page": next ? String(next) : "",
      "x-prev-page": prev ? String(prev) : "",
      link: links.join(", "),
      "x-total": String(total),
      "x-total-pages": String(totalPages),
    });
    return items.slice((page - 1) * perPage, page * perPage);
  }

  // ------------------------------------------------------------------------------------------
  // Routes
  // ------------------------------------------------------------------------------------------

  const routes: Route[] = [];
  const route = (
    method: string,
    pattern: string,
    handler: (ctx: Ctx) => Reply,
    opts: Omit<Route, "method" | "pattern" | "segments" | "handler"> = {},
  ): void => {
    routes.push({ method, pattern, segments: pattern.split("/").filter(Boolean), handler, ...opts });
  };

  // --- instance ---------------------------------------------------------------------------
  // lib/api/metadata.rb, lib/api/version.rb: read_user is enough for GET.
  route(
    "GET",
    "/metadata",
    () =>
      ok({
        version: state.instance.version,
        revision: state.instance.revision,
        kas: {
          enabled: state.instance.kas.enabled,
          externalUrl: state.instance.kas.enabled ? state.instance.kas.externalUrl : null,
          externalK8sProxyUrl: state.instance.kas.enabled ? state.instance.kas.externalK8sProxyUrl : null,
          version: state.instance.kas.enabled ? state.instance.kas.version : null,
        },
        enterprise: state.instance.enterprise,
      }),
    { getScopes: ["read_user"] },
  );
  route("GET", "/version", () => ok({ version: state.instance.version, revision: state.instance.revision }), {
    getScopes: ["read_user"],
  });

  // lib/api/users.rb GET /user
  route(
    "GET",
    "/user",
    (ctx) => {
      const u = ctx.auth!.user;
      return ok({
        ...userBasic(u),
        created_at: u.createdAt,
        bio: "",
        location: "",
        public_email: null,
        linkedin: "",
        twitter: "",
        website_url: "",
        organization: "",
        job_title: "",
        bot: u.bot,
        email: u.email,
        commit_email: u.email,
        last_sign_in_at: null,
        confirmed_at: u.createdAt,
        two_factor_enabled: false,
        external: false,
        private_profile: false,
        ...(u.isAdmin ? { is_admin: true } : {}),
      });
    },
    { getScopes: ["read_user"] },
  );

  // lib/api/personal_access_tokens/self_information.rb: any scope; PATs only.
  route(
    "GET",
    "/personal_access_tokens/self",
    (ctx) => {
      const t = ctx.auth!.token;
      if (!t) throw badRequest("This endpoint requires token type to be a personal access token");
      return ok({
        id: t.id,
        name: t.name,
        revoked: t.revoked,
        created_at: t.createdAt,
        description: t.description,
        scopes: t.scopes,
        user_id: t.userId,
        last_used_at: t.lastUsedAt,
        active: !t.revoked && !isExpired(t),
        expires_at: t.expiresAt,
        last_used_ips: [],
      });
    },
    { anyScope: true },
  );

  // --- projects and groups ------------------------------------------------------------------
  route("GET", "/projects/:id", (ctx) => ok(projectEntity(userProject(ctx), ctx.auth!)));
  route("GET", "/groups/:id", (ctx) => ok(groupEntity(userGroup(ctx))));

  // --- cluster agents (lib/api/clusters/agents.rb) ------------------------------------------
  const AGENT_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
  const findAgent = (ctx: Ctx, p: FakeProject): FakeAgent => {
    // Clusters::AgentsFinder#find: nothing readable below Developer, then RecordNotFound.
    const a = state.agents.find((x) => x.id === ctx.route.agent_id && x.projectId === p.id);
    if (!a || level(ctx, p) < AccessLevel.DEVELOPER) throw recordNotFound();
    return a;
  };
  route("GET", "/projects/:id/cluster_agents", (ctx) => {
    const p = userProject(ctx);
    if (level(ctx, p) < AccessLevel.DEVELOPER) throw notFound("ClusterAgents");
    const agents = state.agents
      .filter((a) => a.projectId === p.id)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id));
    return ok(paginate(ctx, agents).map(agentEntity));
  });
  route(
    "GET",
    "/projects/:id/cluster_agents/:agent_id",
    (ctx) => ok(agentEntity(findAgent(ctx, userProject(ctx)))),
    {
      intParams: ["agent_id"],
    },
  );
  route("POST", "/projects/:id/cluster_agents", (ctx) => {
    requireParams(ctx.params, "name");
    const name = pStr(ctx.params, "name") ?? "";
    const p = userProject(ctx);
    authorize(level(ctx, p) >= AccessLevel.MAINTAINER); // :create_cluster
    // app/models/clusters/agent.rb validations, in declaration order.
    const errors: string[] = [];
    if (name.trim() === "") errors.push("Name can't be blank");
    if (name.length > 63) errors.push("Name is too long (maximum is 63 characters)");
    if (state.agents.some((a) => a.projectId === p.id && a.name === name))
      errors.push("Name has already been taken");
    if (!AGENT_NAME_RE.test(name))
      errors.push(
        "Name can contain only lowercase letters, digits, and '-', but cannot start or end with '-'",
      );
    if (errors.length) throw badRequest(errors);
    const agent: FakeAgent = {
      id: nextId("agent"),
      projectId: p.id,
      name,
      createdAt: now(),
      createdByUserId: ctx.auth!.user.id,
    };
    state.agents.push(agent);
    return created(agentEntity(agent));
  });
  route(
    "DELETE",
    "/projects/:id/cluster_agents/:agent_id",
    (ctx) => {
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.MAINTAINER); // :admin_cluster
      const a = findAgent(ctx, p);
      state.agents = state.agents.filter((x) => x.id !== a.id);
      const tokenIds = new Set(state.agentTokens.filter((t) => t.agentId === a.id).map((t) => t.id));
      state.agentTokens = state.agentTokens.filter((t) => !tokenIds.has(t.id));
      state.urlConfigurations = state.urlConfigurations.filter((c) => c.agentId !== a.id);
      for (const e of state.environments) if (e.clusterAgentId === a.id) e.clusterAgentId = null;
      return noContent();
    },
    { intParams: ["agent_id"] },
  );

  // --- agent tokens (lib/api/clusters/agent_tokens.rb) --------------------------------------
  const activeTokens = (agentId: number): FakeAgentToken[] =>
    state.agentTokens
      .filter((t) => t.agentId === agentId && t.status === "active")
      // has_many :agent_tokens, -> { order_last_used_at_desc }
      .sort((a, b) => {
        if (a.lastUsedAt === b.lastUsedAt) return a.id - b.id;
        if (a.lastUsedAt === null) return 1;
        if (b.lastUsedAt === null) return -1;
        return a.lastUsedAt < b.lastUsedAt ? 1 : -1;
      });
  route(
    "GET",
    "/projects/:id/cluster_agents/:agent_id/tokens",
    (ctx) => {
      const a = findAgent(ctx, userProject(ctx));
      return ok(paginate(ctx, activeTokens(a.id)).map(agentTokenBasic));
    },
    { intParams: ["agent_id"] },
  );
  route(
    "GET",
    "/projects/:id/cluster_agents/:agent_id/tokens/:token_id",
    (ctx) => {
      const a = findAgent(ctx, userProject(ctx));
      const t = state.agentTokens.find((x) => x.id === ctx.route.token_id && x.agentId === a.id);
      if (!t || t.status !== "active") throw recordNotFound();
      return ok({ ...agentTokenBasic(t), last_used_at: t.lastUsedAt });
    },
    { intParams: ["agent_id", "token_id"] },
  );
  route(
    "POST",
    "/projects/:id/cluster_agents/:agent_id/tokens",
    (ctx) => {
      requireParams(ctx.params, "name");
      const name = pStr(ctx.params, "name") ?? "";
      const description = pStr(ctx.params, "description") ?? null;
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.MAINTAINER); // :create_cluster
      const a = findAgent(ctx, p);
      // app/services/clusters/agent_tokens/create_service.rb: ACTIVE_TOKENS_LIMIT = 2
      if (activeTokens(a.id).length >= 2)
        throw badRequest("An agent can have only two active tokens at a time");
      const errors: string[] = [];
      if (description !== null && description.length > 1024)
        errors.push("Description is too long (maximum is 1024 characters)");
      if (name.trim() === "") errors.push("Name can't be blank");
      if (name.length > 255) errors.push("Name is too long (maximum is 255 characters)");
      if (errors.length) throw badRequest(errors);
      const t: FakeAgentToken = {
        id: nextId("agentToken"),
        agentId: a.id,
        name,
        description,
        status: "active",
        token: `glagent-${randomToken(50)}`,
        createdAt: now(),
        createdByUserId: ctx.auth!.user.id,
        lastUsedAt: null,
      };
      state.agentTokens.push(t);
      return created({ ...agentTokenBasic(t), last_used_at: t.lastUsedAt, token: t.token });
    },
    { intParams: ["agent_id"] },
  );
  route(
    "DELETE",
    "/projects/:id/cluster_agents/:agent_id/tokens/:token_id",
    (ctx) => {
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.MAINTAINER); // :admin_cluster
      const a = findAgent(ctx, p);
      const t = state.agentTokens.find((x) => x.id === ctx.route.token_id && x.agentId === a.id);
      if (!t) throw recordNotFound();
      t.status = "revoked"; // revoking a revoked token is still 204
      return noContent();
    },
    { intParams: ["agent_id", "token_id"] },
  );

  // --- receptive agents (lib/api/clusters/agent_url_configurations.rb) ----------------------
  const receptiveGate = (): void => {
    if (!state.instance.receptiveAgentsEnabled) throw notFound();
  };
  const urlConfigOf = (agentId: number) => state.urlConfigurations.find((c) => c.agentId === agentId);
  route(
    "GET",
    "/projects/:id/cluster_agents/:agent_id/url_configurations",
    (ctx) => {
      receptiveGate();
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.MAINTAINER);
      const cfg = urlConfigOf(findAgent(ctx, p).id);
      return ok(cfg ? [urlConfigEntity(cfg)] : []);
    },
    { intParams: ["agent_id"] },
  );
  route(
    "GET",
    "/projects/:id/cluster_agents/:agent_id/url_configurations/:url_configuration_id",
    (ctx) => {
      receptiveGate();
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.MAINTAINER);
      const cfg = urlConfigOf(findAgent(ctx, p).id);
      if (!cfg || cfg.id !== ctx.route.url_configuration_id) throw notFound();
      return ok(urlConfigEntity(cfg));
    },
    { intParams: ["agent_id", "url_configuration_id"] },
  );
  route(
    "POST",
    "/projects/:id/cluster_agents/:agent_id/url_configurations",
    (ctx) => {
      receptiveGate();
      requireParams(ctx.params, "url");
      const url = pStr(ctx.params, "url") ?? "";
      const decode = (k: string): string | null => {
        const v = pStr(ctx.params, k);
        return v ? Buffer.from(v, "base64").toString("utf8") : null;
      };
      const clientCert = decode("client_cert");
      const clientKey = decode("client_key");
      const caCert = decode("ca_cert");
      const tlsHost = pStr(ctx.params, "tls_host") || null;
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.MAINTAINER); // :create_cluster
      const a = findAgent(ctx, p);
      if (urlConfigOf(a.id)) throw badRequest("URL configuration already exists for this agent");
      const errors: string[] = [];
      let scheme = "";
      try {
        scheme = new URL(url).protocol;
      } catch {
        scheme = "";
      }
      if (scheme !== "grpc:" && scheme !== "grpcs:")
        errors.push("Url is blocked: Only allowed schemes are grpc, grpcs");
      if (clientKey && !clientCert) errors.push("Client cert can't be blank");
      if (clientCert && !clientKey) errors.push("Client key can't be blank");
      if (errors.length) throw badRequest(errors);
      let publicKey: string | null = null;
      if (!clientKey) {
        const { publicKey: pub } = crypto.generateKeyPairSync("ed25519");
        const jwk = pub.export({ format: "jwk" }) as { x: string };
        publicKey = Buffer.from(jwk.x, "base64url").toString("base64");
      }
      const cfg: FakeUrlConfiguration = {
        id: nextId("urlConfiguration"),
        agentId: a.id,
        projectId: p.id,
        url,
        caCert,
        clientCert: clientKey ? clientCert : null,
        clientKey: clientKey ?? null,
        tlsHost,
        publicKey,
        createdByUserId: ctx.auth!.user.id,
      };
      state.urlConfigurations.push(cfg);
      return created(urlConfigEntity(cfg));
    },
    { intParams: ["agent_id"] },
  );
  route(
    "DELETE",
    "/projects/:id/cluster_agents/:agent_id/url_configurations/:url_configuration_id",
    (ctx) => {
      receptiveGate();
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.MAINTAINER);
      const cfg = urlConfigOf(findAgent(ctx, p).id);
      if (!cfg || cfg.id !== ctx.route.url_configuration_id) throw notFound();
      state.urlConfigurations = state.urlConfigurations.filter((c) => c.id !== cfg.id);
      return noContent();
    },
    { intParams: ["agent_id", "url_configuration_id"] },
  );

  // --- environments (lib/api/environments.rb; job tokens allowed on every route) ------------
  const TIERS = ["production", "staging", "testing", "development", "other"] as const;
  const ENV_NAME_RE = /^[a-zA-Z0-9_\\/${}. -]+$/;
  const envSlug = (name: string): string => {
    // Gitlab::Slug::Environment#generate
    let slug = name.toLowerCase().replace(/[^a-z0-9]/g, "-");
    if (!/^[a-z]/.test(slug)) slug = `env-${slug}`;
    slug = slug.replace(/-+/g, "-");
    if (slug.length > 24 || slug !== name) {
      slug = slug.slice(0, 17);
      if (!slug.endsWith("-")) slug += "-";
      slug += crypto.randomBytes(6).toString("hex").slice(0, 6);
      return slug;
    }
    return slug.replace(/-$/, "");
  };
  /** Environment#guess_tier (app/models/environment.rb), in GitLab's order. */
  const guessTier = (name: string): EnvironmentTier => {
    if (/(dev|review|trunk)/i.test(name)) return "development";
    if (/(test|tst|int|ac(ce|)pt|qa|qc|control|quality)/i.test(name)) return "testing";
    if (/(st(a|)g|mod(e|)l|pre|demo|non)/i.test(name)) return "staging";
    if (/(pr(o|)d|live)/i.test(name)) return "production";
    return "other";
  };
  const findEnv = (ctx: Ctx, p: FakeProject): FakeEnvironment => {
    const e = state.environments.find((x) => x.id === ctx.route.environment_id && x.projectId === p.id);
    if (!e) throw recordNotFound();
    return e;
  };
  const checkEnvAgent = (ctx: Ctx, p: FakeProject, agentId: number | null | undefined): void => {
    if (agentId == null) return;
    const a = state.agents.find((x) => x.id === agentId && x.projectId === p.id);
    if (!a || level(ctx, p) < AccessLevel.DEVELOPER)
      throw badRequest("cluster agent doesn't exist or cannot be associated with this environment");
  };
  const validateEnv = (e: FakeEnvironment, p: FakeProject): void => {
    const errors: Record<string, string[]> = {};
    const add = (k: string, m: string) => (errors[k] ??= []).push(m);
    if (e.name.trim() === "") add("name", "can't be blank");
    if (e.name.length > 255) add("name", "is too long (maximum is 255 characters)");
    if (!ENV_NAME_RE.test(e.name) || e.name.startsWith("/") || e.name.endsWith("/"))
      add(
        "name",
        "can contain only letters, digits, '-', '_', '/', '$', '{', '}', '.', and spaces, but it cannot start or end with '/'",
      );
    if (state.environments.some((x) => x.projectId === p.id && x.id !== e.id && x.name === e.name))
      add("name", "has already been taken");
    if (e.externalUrl) {
      let scheme = "";
      try {
        scheme = new URL(e.externalUrl).protocol;
      } catch {
        scheme = "";
      }
      if (scheme !== "http:" && scheme !== "https:")
        add("external_url", "is blocked: Only allowed schemes are http, https");
    }
    if (e.kubernetesNamespace && e.clusterAgentId === null)
      add("kubernetes_namespace", "cannot be set without a cluster agent");
    if (e.fluxResourcePath && !e.kubernetesNamespace)
      add("flux_resource_path", "cannot be set without a kubernetes namespace");
    if (Object.keys(errors).length) throw apiError(400, errors);
  };
  route(
    "GET",
    "/projects/:id/environments",
    (ctx) => {
      const name = pStr(ctx.params, "name");
      const search = pStr(ctx.params, "search");
      const states = pValues(ctx.params, "states", ["available", "stopping", "stopped"] as const);
      if (has(ctx.params, "name") && has(ctx.params, "search"))
        throw grapeError("name, search cannot be used together");
      const p = userProject(ctx);
      authorize(readsPublicly(ctx, p, AccessLevel.REPORTER)); // :read_environment
      if (search && search.length < 3) throw badRequest("Search query is less than 3 characters");
      let envs = state.environments.filter((e) => e.projectId === p.id);
      if (name) envs = envs.filter((e) => e.name === name);
      if (search) envs = envs.filter((e) => e.name.toLowerCase().startsWith(search.toLowerCase()));
      if (states) envs = envs.filter((e) => e.state === states);
      envs.sort((a, b) => a.id - b.id);
      return ok(paginate(ctx, envs).map((e) => environmentEntity(e)));
    },
    { jobToken: true },
  );
  route(
    "GET",
    "/projects/:id/environments/:environment_id",
    (ctx) => {
      const p = userProject(ctx);
      authorize(readsPublicly(ctx, p, AccessLevel.REPORTER));
      const e = findEnv(ctx, p);
      // Environment#last_deployment: the successful deployment that finished last (Deployment.ordered).
      const last = state.deployments
        .filter((d) => d.environmentId === e.id && d.status === "success")
        .sort((x, y) => ((x.finishedAt ?? "") < (y.finishedAt ?? "") ? 1 : -1) || y.id - x.id)[0];
      return ok({
        ...environmentEntity(e, false),
        last_deployment: last
          ? {
              id: last.id,
              iid: last.iid,
              ref: last.ref,
              sha: last.sha,
              status: last.status,
              created_at: last.createdAt,
              updated_at: last.updatedAt,
              finished_at: last.finishedAt,
              user: null,
              deployable: null,
            }
          : null,
      });
    },
    { jobToken: true, intParams: ["environment_id"] },
  );
  route(
    "POST",
    "/projects/:id/environments",
    (ctx) => {
      requireParams(ctx.params, "name");
      if (has(ctx.params, "slug")) throw grapeError("slug is automatically generated and cannot be changed");
      const name = pStr(ctx.params, "name") ?? "";
      const tier = pValues(ctx.params, "tier", TIERS);
      const autoStop = pValues(ctx.params, "auto_stop_setting", ["always", "with_action"] as const);
      const agentId = pInt(ctx.params, "cluster_agent_id");
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.DEVELOPER); // :create_environment
      checkEnvAgent(ctx, p, agentId);
      const ts = now();
      const e: FakeEnvironment = {
        id: 0,
        projectId: p.id,
        name,
        slug: envSlug(name),
        description: pStr(ctx.params, "description") ?? null,
        externalUrl: pStr(ctx.params, "external_url") ?? null,
        tier: tier ?? guessTier(name),
        state: "available",
        clusterAgentId: agentId ?? null,
        kubernetesNamespace: pStr(ctx.params, "kubernetes_namespace") ?? null,
        fluxResourcePath: pStr(ctx.params, "flux_resource_path") ?? null,
        autoStopSetting: autoStop ?? "always",
        autoStopAt: null,
        createdAt: ts,
        updatedAt: ts,
      };
      validateEnv(e, p);
      e.id = nextId("environment");
      state.environments.push(e);
      return created(environmentEntity(e));
    },
    { jobToken: true },
  );
  route(
    "PUT",
    "/projects/:id/environments/:environment_id",
    (ctx) => {
      if (has(ctx.params, "slug")) throw grapeError("slug is automatically generated and cannot be changed");
      const tier = pValues(ctx.params, "tier", TIERS);
      const autoStop = pValues(ctx.params, "auto_stop_setting", ["always", "with_action"] as const);
      const agentId = pInt(ctx.params, "cluster_agent_id");
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.DEVELOPER); // :update_environment
      const e = findEnv(ctx, p);
      checkEnvAgent(ctx, p, agentId);
      // `name` is not declared since 16.0, so it is ignored.
      const next: FakeEnvironment = { ...e };
      if (has(ctx.params, "external_url")) next.externalUrl = pStr(ctx.params, "external_url") ?? null;
      if (tier) next.tier = tier;
      if (agentId !== undefined) next.clusterAgentId = agentId;
      if (has(ctx.params, "kubernetes_namespace"))
        next.kubernetesNamespace = pStr(ctx.params, "kubernetes_namespace") ?? null;
      if (has(ctx.params, "flux_resource_path"))
        next.fluxResourcePath = pStr(ctx.params, "flux_resource_path") ?? null;
      if (has(ctx.params, "description")) next.description = pStr(ctx.params, "description") ?? null;
      if (autoStop) next.autoStopSetting = autoStop;
      validateEnv(next, p);
      Object.assign(e, next, { updatedAt: now() });
      return ok(environmentEntity(e));
    },
    { jobToken: true, intParams: ["environment_id"] },
  );
  route(
    "POST",
    "/projects/:id/environments/:environment_id/stop",
    (ctx) => {
      pBool(ctx.params, "force");
      const p = userProject(ctx);
      authorize(readsPublicly(ctx, p, AccessLevel.REPORTER));
      const e = findEnv(ctx, p);
      authorize(level(ctx, p) >= AccessLevel.DEVELOPER); // :stop_environment
      e.state = "stopped";
      e.updatedAt = now();
      return ok(environmentEntity(e));
    },
    { jobToken: true, intParams: ["environment_id"] },
  );
  route(
    "DELETE",
    "/projects/:id/environments/:environment_id",
    (ctx) => {
      const p = userProject(ctx);
      authorize(readsPublicly(ctx, p, AccessLevel.REPORTER));
      const e = findEnv(ctx, p);
      // :destroy_environment needs Developer and a stopped environment.
      authorize(level(ctx, p) >= AccessLevel.DEVELOPER && e.state === "stopped");
      state.environments = state.environments.filter((x) => x.id !== e.id);
      return noContent();
    },
    { jobToken: true, intParams: ["environment_id"] },
  );

  // --- repository files (lib/api/files.rb) and commits (lib/api/commits.rb) ----------------
  const branchOf = (p: FakeProject, name: string): FakeBranch | undefined => p.branches[name];
  /** The branch whose files a ref reads (the fake keeps files per branch, not per commit). */
  const resolveRef = (p: FakeProject, ref: string): string | undefined => resolveCommit(p, ref)?.branch;
  /** A branch name or a (short) commit SHA the project has: its commit and the branch it was made on. */
  const resolveCommit = (p: FakeProject, ref: string): { commitId: string; branch: string } | undefined => {
    if (p.branches[ref]) return { commitId: p.branches[ref].commitId, branch: ref };
    const c = state.commits.find(
      (x) => x.projectId === p.id && (x.id === ref || (ref.length >= 7 && x.id.startsWith(ref))),
    );
    if (c) return { commitId: c.id, branch: p.branches[c.branch] ? c.branch : p.defaultBranch };
    // A branch head seeded without a commit record (addProject, addBranch).
    const head = Object.values(p.branches).find((b) => ref.length >= 7 && b.commitId.startsWith(ref));
    return head ? { commitId: head.commitId, branch: head.name } : undefined;
  };
  /** A commit that reached `branch` by a git push (not through the API): recorded, the branch moved to it. */
  const pushed = (p: FakeProject, branch: string, message: string, parentIds: string[], id = sha1Hex()) => {
    const c: FakeCommit = {
      id,
      projectId: p.id,
      branch,
      message,
      parentIds,
      authorName: "test",
      authorEmail: "test@example.invalid",
      actions: [],
      createdAt: now(),
    };
    state.commits.push(c);
    p.branches[branch].commitId = c.id;
    refreshMergeRequests(p, branch);
    return c;
  };
  /** MergeRequests::RefreshService: open MRs follow their source branch's head. */
  const refreshMergeRequests = (p: FakeProject, branch: string) => {
    for (const mr of state.mergeRequests)
      if (mr.projectId === p.id && mr.sourceBranch === branch && mr.state === "opened") {
        mr.sha = p.branches[branch].commitId;
        mr.updatedAt = now();
      }
  };
  interface PlannedAction {
    action: FakeCommitAction["action"];
    filePath: string;
    previousPath?: string;
    content?: Buffer;
    lastCommitId?: string;
    executeFilemode?: boolean;
  }
  /** Commits::CreateService + Gitaly UserCommitFiles; throws 400 with GitLab's messages. */
  const commit = (
    ctx: Ctx,
    p: FakeProject,
    input: {
      branch: string;
      startBranch?: string;
      message: string;
      actions: PlannedAction[];
      authorName?: string;
      authorEmail?: string;
      filesApi: boolean;
    },
  ): FakeCommit => {
    const user = ctx.auth!.user;
    const target = branchOf(p, input.branch);
    const startName = input.startBranch ?? input.branch;
    const start = branchOf(p, startName);
    const empty = Object.keys(p.branches).length === 0;
    const protectedTarget = target ? target.protected : false;
    if (projectLevel(user, p) < (protectedTarget ? AccessLevel.MAINTAINER : AccessLevel.DEVELOPER))
      throw apiError(400, "You are not allowed to push into this branch");
    if (!empty && !start) throw apiError(400, "You can only create or edit files when you are on a branch");
    if (!empty && input.startBranch !== undefined && input.startBranch !== input.branch && target)
      throw apiError(
        400,
        `A branch called '${input.branch}' already exists. Switch to that branch in order to make changes`,
      );
    const base = { ...(p.files[startName] ?? {}) };
    for (const a of input.actions) {
      const existing = base[a.filePath];
      if (a.filePath === "" || a.filePath.endsWith("/")) throw apiError(400, "You must provide a file path");
      if (a.filePath.split("/").includes(".."))
        throw apiError(400, "Path cannot include directory traversal");
      if (a.action === "create") {
        if (existing) throw apiError(400, "A file with this name already exists");
      } else if (a.action === "move") {
        const from = a.previousPath ?? "";
        if (!base[from]) throw apiError(400, "A file with this name doesn't exist");
        if (existing) throw apiError(400, "A file with this name already exists");
      } else if (!existing) {
        throw apiError(400, "A file with this name doesn't exist");
      }
      if (a.lastCommitId !== undefined && existing && a.lastCommitId !== existing.lastCommitId) {
        throw apiError(
          400,
          input.filesApi
            ? "You are attempting to update a file that has changed since you started editing it."
            : `The file has changed since you started editing it: ${a.filePath}`,
        );
      }
    }
    const id = sha1Hex();
    const ts = now();
    for (const a of input.actions) {
      if (a.action === "delete") {
        delete base[a.filePath];
        continue;
      }
      if (a.action === "chmod") {
        base[a.filePath] = { ...base[a.filePath], executeFilemode: !!a.executeFilemode, lastCommitId: id };
        continue;
      }
      const prev = a.action === "move" ? base[a.previousPath ?? ""] : base[a.filePath];
      if (a.action === "move") delete base[a.previousPath ?? ""];
      const content = a.content ?? prev?.content ?? Buffer.alloc(0);
      base[a.filePath] = {
        content,
        blobId: gitBlobId(content),
        lastCommitId: id,
        executeFilemode: a.executeFilemode ?? prev?.executeFilemode ?? false,
      };
    }
    p.files[input.branch] = base;
    const parent = start?.commitId;
    p.branches[input.branch] = {
      name: input.branch,
      commitId: id,
      protected: target?.protected ?? (empty && input.branch === p.defaultBranch),
    };
    const c: FakeCommit = {
      id,
      projectId: p.id,
      branch: input.branch,
      message: input.message,
      parentIds: parent ? [parent] : [],
      authorName: input.authorName ?? user.name,
      authorEmail: input.authorEmail ?? user.email,
      actions: input.actions.map((a) => ({
        action: a.action,
        filePath: a.filePath,
        ...(a.previousPath ? { previousPath: a.previousPath } : {}),
      })),
      createdAt: ts,
    };
    state.commits.push(c);
    refreshMergeRequests(p, input.branch);
    return c;
  };
  const fileContent = (ctx: Ctx, key = "content", encodingKey = "encoding"): Buffer => {
    const enc = pValues(ctx.params, encodingKey, ["text", "base64"] as const) ?? "text";
    const raw = pStr(ctx.params, key) ?? "";
    return enc === "base64" ? Buffer.from(raw, "base64") : Buffer.from(raw, "utf8");
  };
  const fileWriteParams = (ctx: Ctx, withContent: boolean) => {
    requireParams(ctx.params, "branch", "commit_message", ...(withContent ? ["content"] : []));
    const branch = pStr(ctx.params, "branch") ?? "";
    const message = pStr(ctx.params, "commit_message") ?? "";
    if (branch === "") throw grapeError("branch is empty");
    if (message === "") throw grapeError("commit_message is empty");
    return {
      branch,
      message,
      startBranch: pStr(ctx.params, "start_branch") ?? undefined,
      authorName: pStr(ctx.params, "author_name") ?? undefined,
      authorEmail: pStr(ctx.params, "author_email") ?? undefined,
      lastCommitId: pStr(ctx.params, "last_commit_id") ?? undefined,
      executeFilemode: pBool(ctx.params, "execute_filemode"),
    };
  };
  const readFileFor = (ctx: Ctx) => {
    requireParams(ctx.params, "ref");
    const ref = pStr(ctx.params, "ref") ?? "";
    if (ref === "") throw grapeError("ref is empty");
    const p = userProject(ctx);
    authorize(readsPublicly(ctx, p, AccessLevel.REPORTER)); // :read_code
    const branch = resolveRef(p, ref);
    if (branch === undefined) throw notFound("Commit");
    const filePath = String(ctx.route.file_path);
    const f = p.files[branch]?.[filePath];
    if (!f) throw notFound("File");
    return { p, ref, branch, filePath, f };
  };
  route(
    "GET",
    "/projects/:id/repository/files/:file_path",
    (ctx) => {
      const { p, ref, branch, filePath, f } = readFileFor(ctx);
      return ok({
        file_name: filePath.split("/").pop(),
        file_path: filePath,
        size: f.content.length,
        encoding: "base64",
        content_sha256: crypto.createHash("sha256").update(f.content).digest("hex"),
        ref,
        blob_id: f.blobId,
        commit_id: p.branches[branch].commitId,
        last_commit_id: f.lastCommitId,
        execute_filemode: f.executeFilemode,
        content: f.content.toString("base64"),
      });
    },
    { getScopes: ["read_repository"] },
  );
  route(
    "GET",
    "/projects/:id/repository/files/:file_path/raw",
    (ctx) => {
      if (!has(ctx.params, "ref")) {
        const p = userProject(ctx);
        ctx.params.ref = p.defaultBranch;
      }
      const { f } = readFileFor(ctx);
      return { status: 200, body: f.content };
    },
    { getScopes: ["read_repository"], jobToken: true },
  );
  route("POST", "/projects/:id/repository/files/:file_path", (ctx) => {
    const w = fileWriteParams(ctx, true);
    const content = fileContent(ctx);
    const p = userProject(ctx);
    authorize(level(ctx, p) >= AccessLevel.DEVELOPER); // :push_code
    const filePath = String(ctx.route.file_path);
    commit(ctx, p, {
      ...w,
      filesApi: true,
      actions: [
        {
          action: "create",
          filePath,
          content,
          lastCommitId: w.lastCommitId,
          executeFilemode: w.executeFilemode,
        },
      ],
    });
    return created({ file_path: filePath, branch: w.branch });
  });
  route("PUT", "/projects/:id/repository/files/:file_path", (ctx) => {
    const w = fileWriteParams(ctx, true);
    const content = fileContent(ctx);
    const p = userProject(ctx);
    authorize(level(ctx, p) >= AccessLevel.DEVELOPER);
    const filePath = String(ctx.route.file_path);
    commit(ctx, p, {
      ...w,
      filesApi: true,
      actions: [
        {
          action: "update",
          filePath,
          content,
          lastCommitId: w.lastCommitId,
          executeFilemode: w.executeFilemode,
        },
      ],
    });
    return ok({ file_path: filePath, branch: w.branch });
  });
  route("DELETE", "/projects/:id/repository/files/:file_path", (ctx) => {
    const w = fileWriteParams(ctx, false);
    const p = userProject(ctx);
    authorize(level(ctx, p) >= AccessLevel.DEVELOPER);
    const filePath = String(ctx.route.file_path);
    commit(ctx, p, {
      ...w,
      filesApi: true,
      actions: [{ action: "delete", filePath, lastCommitId: w.lastCommitId }],
    });
    return noContent();
  });
  route("POST", "/projects/:id/repository/commits", (ctx) => {
    requireParams(ctx.params, "branch", "commit_message", "actions");
    const rawActions = ctx.params.actions;
    if (!Array.isArray(rawActions) || rawActions.length === 0) throw grapeError("actions is invalid");
    const actions: PlannedAction[] = rawActions.map((raw, i) => {
      if (typeof raw !== "object" || raw === null) throw grapeError(`actions[${i}] is invalid`);
      const a = raw as Params;
      requireParams(a, "action", "file_path");
      const action = pValues(a, "action", ["create", "update", "delete", "move", "chmod"] as const)!;
      const enc = pValues(a, "encoding", ["text", "base64"] as const) ?? "text";
      const rawContent = pStr(a, "content");
      return {
        action,
        filePath: pStr(a, "file_path") ?? "",
        previousPath: pStr(a, "previous_path") ?? undefined,
        content:
          rawContent == null ? undefined : Buffer.from(rawContent, enc === "base64" ? "base64" : "utf8"),
        lastCommitId: pStr(a, "last_commit_id") ?? undefined,
        executeFilemode: pBool(a, "execute_filemode"),
      };
    });
    const p = userProject(ctx);
    authorize(level(ctx, p) >= AccessLevel.DEVELOPER);
    const c = commit(ctx, p, {
      branch: pStr(ctx.params, "branch") ?? "",
      startBranch: pStr(ctx.params, "start_branch") ?? undefined,
      message: pStr(ctx.params, "commit_message") ?? "",
      authorName: pStr(ctx.params, "author_name") ?? undefined,
      authorEmail: pStr(ctx.params, "author_email") ?? undefined,
      actions,
      filesApi: false,
    });
    return created(commitEntity(c));
  });

  /** `git branch --contains`: walks parent ids from the branch head (seeded heads have no parents). */
  const branchContains = (p: FakeProject, b: FakeBranch, sha: string): boolean => {
    const seen = new Set<string>();
    const todo = [b.commitId];
    while (todo.length) {
      const id = todo.pop()!;
      if (id === sha) return true;
      if (seen.has(id)) continue;
      seen.add(id);
      const c = state.commits.find((x) => x.projectId === p.id && x.id === id);
      if (c) todo.push(...c.parentIds);
    }
    return false;
  };
  // GET /projects/:id/repository/commits/:sha/refs (lib/api/commits.rb): the branches and tags the commit
  // is pushed to, i.e. that contain it.
  route(
    "GET",
    "/projects/:id/repository/commits/:sha/refs",
    (ctx) => {
      const type = pValues(ctx.params, "type", ["branch", "tag", "all"] as const) ?? "all";
      const p = userProject(ctx);
      authorize(readsPublicly(ctx, p, AccessLevel.REPORTER)); // :read_code
      const found = resolveCommit(p, String(ctx.route.sha));
      if (!found) throw notFound("Commit");
      const branches =
        type === "tag"
          ? []
          : Object.values(p.branches)
              .filter((b) => branchContains(p, b, found.commitId))
              .map((b) => ({ type: "branch", name: b.name }));
      return ok(paginate(ctx, branches));
    },
    { getScopes: ["read_repository"] },
  );

  // --- branches (lib/api/branches.rb) ---------------------------------------------------------
  route(
    "GET",
    "/projects/:id/repository/branches",
    (ctx) => {
      const p = userProject(ctx);
      authorize(readsPublicly(ctx, p, AccessLevel.REPORTER));
      const search = pStr(ctx.params, "search");
      let list = Object.values(p.branches).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      if (search) list = list.filter((b) => b.name.includes(search));
      return ok(paginate(ctx, list).map((b) => branchEntity(p, b, ctx.auth!)));
    },
    { jobToken: true, getScopes: ["read_repository"] },
  );
  route(
    "GET",
    "/projects/:id/repository/branches/:branch",
    (ctx) => {
      const p = userProject(ctx);
      authorize(readsPublicly(ctx, p, AccessLevel.REPORTER));
      const b = p.branches[String(ctx.route.branch)];
      if (!b) throw notFound("Branch");
      return ok(branchEntity(p, b, ctx.auth!));
    },
    { getScopes: ["read_repository"] },
  );
  route("POST", "/projects/:id/repository/branches", (ctx) => {
    requireParams(ctx.params, "branch", "ref");
    const name = pStr(ctx.params, "branch") ?? "";
    const ref = pStr(ctx.params, "ref") ?? "";
    const p = userProject(ctx);
    authorize(level(ctx, p) >= AccessLevel.DEVELOPER); // :push_code
    if (p.branches[name]) throw badRequest("Branch already exists");
    if (!/^[^\s~^:?*[\\]+$/.test(name) || name.startsWith("/") || name.endsWith("/") || name.includes(".."))
      throw badRequest("Branch name is invalid");
    const from = resolveCommit(p, ref);
    if (from === undefined) throw badRequest(`Invalid reference name: ${ref}`);
    const b: FakeBranch = { name, commitId: from.commitId, protected: false };
    p.branches[name] = b;
    p.files[name] = { ...(p.files[from.branch] ?? {}) };
    return created(branchEntity(p, b, ctx.auth!));
  });
  route(
    "DELETE",
    "/projects/:id/repository/branches/:branch",
    (ctx) => {
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.DEVELOPER); // authorize_push_project
      const name = String(ctx.route.branch);
      const b = p.branches[name];
      if (!b) throw notFound("Branch");
      // Branches::DeleteService
      if (name === p.defaultBranch) throw apiError(405, "Cannot remove HEAD branch");
      if (b.protected) throw apiError(405, "Protected branch cant be removed");
      delete p.branches[name];
      delete p.files[name];
      // MergeRequests::RefreshService#close_upon_missing_source_branch_ref (asynchronous in GitLab,
      // right away here): open merge requests from the deleted branch are closed, by MergeRequests::
      // CloseService, so with its system note.
      for (const mr of state.mergeRequests)
        if (mr.projectId === p.id && mr.sourceBranch === name && mr.state === "opened") {
          mr.state = "closed";
          mr.closedAt = now();
          mr.updatedAt = mr.closedAt;
          statusNote("MergeRequest", mr, ctx.auth!.user.id, "closed");
        }
      return noContent();
    },
    {},
  );

  // --- runners (lib/api/user_runners.rb, lib/api/ci/runners.rb) -----------------------------
  const RUNNER_TYPES = ["instance_type", "group_type", "project_type"] as const;
  const canAdminRunner = (auth: AuthInfo, r: FakeRunner): boolean => {
    if (auth.user.isAdmin) return true;
    if (r.runnerType === "group_type") {
      const g = groupById(r.groupId);
      return !!g && groupLevelFor(auth.user, g) >= AccessLevel.OWNER;
    }
    if (r.runnerType === "project_type")
      return r.projectIds.some((id) => {
        const p = projectById(id);
        return !!p && projectLevel(auth.user, p) >= AccessLevel.MAINTAINER;
      });
    return false;
  };
  const validateRunner = (r: FakeRunner): string[] => {
    const errors: string[] = [];
    if (r.tagList.length === 0 && !r.runUntagged)
      errors.push("Tags list can not be empty when runner is not allowed to pick untagged jobs");
    if (r.tagList.length > 50)
      errors.push("Tags list Too many tags specified. Please limit the number of tags to 50");
    if (r.tagList.some((t) => t.length > 255))
      errors.push("Tag list is too long (maximum is 255 characters)");
    if (r.description.length > 1024) errors.push("Description is too long (maximum is 1024 characters)");
    if (r.maximumTimeout !== null && r.maximumTimeout < 600)
      errors.push("Maximum timeout needs to be at least 10 minutes");
    if (r.maintenanceNote && r.maintenanceNote.length > 1024)
      errors.push("Maintenance note is too long (maximum is 1024 characters)");
    return errors;
  };
  const runnerFilterParams = (ctx: Ctx) => ({
    type: pValues(ctx.params, "type", RUNNER_TYPES),
    paused: pBool(ctx.params, "paused"),
    status: pValues(ctx.params, "status", [
      "online",
      "offline",
      "stale",
      "never_contacted",
      "active",
      "paused",
    ] as const),
    tagList: pList(ctx.params, "tag_list"),
  });
  const applyRunnerFilters = (ctx: Ctx, runners: FakeRunner[]): FakeRunner[] => {
    const f = runnerFilterParams(ctx);
    let out = runners;
    if (f.type) out = out.filter((r) => r.runnerType === f.type);
    if (f.status)
      out = out.filter((r) =>
        f.status === "active" ? !r.paused : f.status === "paused" ? r.paused : runnerStatus(r) === f.status,
      );
    if (f.paused !== undefined) out = out.filter((r) => r.paused === f.paused);
    if (f.tagList) {
      const wanted = normaliseTags(f.tagList);
      out = out.filter((r) => wanted.every((t) => r.tagList.includes(t)));
    }
    // paginate() orders by id when the relation has no order
    return [...out].sort((a, b) => a.id - b.id);
  };
  const findRunner = (ctx: Ctx): FakeRunner => {
    const r = state.runners.find((x) => x.id === ctx.route.runner_id);
    if (!r) throw recordNotFound();
    return r;
  };

  route(
    "POST",
    "/user/runners",
    (ctx) => {
      requireParams(ctx.params, "runner_type");
      const runnerType = pValues(ctx.params, "runner_type", RUNNER_TYPES)!;
      if (runnerType === "group_type") requireParams(ctx.params, "group_id");
      if (runnerType === "project_type") requireParams(ctx.params, "project_id");
      const groupId = runnerType === "group_type" ? pInt(ctx.params, "group_id") : undefined;
      const projectId = runnerType === "project_type" ? pInt(ctx.params, "project_id") : undefined;
      const accessLevel = pValues(ctx.params, "access_level", ["not_protected", "ref_protected"] as const);
      const paused = pBool(ctx.params, "paused");
      const locked = pBool(ctx.params, "locked");
      const runUntagged = pBool(ctx.params, "run_untagged");
      const tagList = pList(ctx.params, "tag_list");
      const maximumTimeout = pInt(ctx.params, "maximum_timeout");
      const description = pStr(ctx.params, "description");
      const maintenanceNote = pStr(ctx.params, "maintenance_note");
      const user = ctx.auth!.user;
      // Ci::Runners::CreateRunnerService + RunnerCreationStrategies
      let project: FakeProject | undefined;
      let group: FakeGroup | undefined;
      if (runnerType === "project_type") {
        project = projectId == null ? undefined : projectById(projectId);
        if (!project) throw badRequest("Missing/invalid project");
        if (projectLevel(user, project) < AccessLevel.MAINTAINER) throw forbidden("Insufficient permissions");
      } else if (runnerType === "group_type") {
        group = groupId == null ? undefined : groupById(groupId);
        if (!group) throw badRequest("Missing/invalid group");
        if (groupLevelFor(user, group) < AccessLevel.OWNER) throw forbidden("Insufficient permissions");
      } else if (!user.isAdmin) {
        throw forbidden("Insufficient permissions");
      }
      const typeNumber = { instance_type: 1, group_type: 2, project_type: 3 }[runnerType];
      const r: FakeRunner = {
        id: 0,
        runnerType,
        name: null,
        description: description ?? "",
        tagList: normaliseTags(tagList ?? []),
        runUntagged: runUntagged ?? true,
        locked: locked ?? false,
        accessLevel: accessLevel ?? "not_protected",
        maximumTimeout: maximumTimeout ?? null,
        paused: paused ?? false,
        maintenanceNote: maintenanceNote ?? null,
        projectIds: project ? [project.id] : [],
        groupId: group ? group.id : null,
        creatorId: user.id,
        token: `glrt-t${typeNumber}_${randomToken(20)}`,
        tokenExpiresAt: null,
        contactedAt: null,
        createdAt: now(),
      };
      const errors = validateRunner(r);
      if (errors.length) throw badRequest(toSentence(errors));
      r.id = nextId("runner");
      state.runners.push(r);
      return created({ id: r.id, token: r.token, token_expires_at: r.tokenExpiresAt });
    },
    { scopes: ["create_runner"] },
  );
  route(
    "GET",
    "/runners",
    (ctx) => {
      // current_user.ci_owned_runners: group runners of owned groups, project runners of maintained projects
      const all = state.runners.filter(
        (r) => r.runnerType !== "instance_type" && canAdminRunner(ctx.auth!, r),
      );
      return ok(paginate(ctx, applyRunnerFilters(ctx, all)).map(runnerEntity));
    },
    // manage_runner only covers /runners/:id paths (allow_access_with_scope in lib/api/ci/runners.rb)
  );
  route("GET", "/runners/all", (ctx) => {
    if (!ctx.auth!.user.isAdmin) throw forbidden();
    return ok(paginate(ctx, applyRunnerFilters(ctx, state.runners)).map(runnerEntity));
  });
  route(
    "GET",
    "/runners/:runner_id",
    (ctx) => {
      const r = findRunner(ctx);
      if (r.runnerType !== "instance_type" && !canAdminRunner(ctx.auth!, r))
        throw forbidden("No access granted");
      return ok(runnerDetails(r, ctx.auth!));
    },
    { scopes: ["manage_runner"], intParams: ["runner_id"] },
  );
  route(
    "PUT",
    "/runners/:runner_id",
    (ctx) => {
      const keys = [
        "description",
        "active",
        "paused",
        "tag_list",
        "run_untagged",
        "locked",
        "access_level",
        "maximum_timeout",
        "maintenance_note",
      ];
      if (!keys.some((k) => has(ctx.params, k)))
        throw grapeError(`${keys.join(", ")} are missing, at least one parameter must be provided`);
      if (has(ctx.params, "active") && has(ctx.params, "paused"))
        throw grapeError("active, paused are mutually exclusive");
      const accessLevel = pValues(ctx.params, "access_level", ["not_protected", "ref_protected"] as const);
      const active = pBool(ctx.params, "active");
      const paused = pBool(ctx.params, "paused");
      const runUntagged = pBool(ctx.params, "run_untagged");
      const locked = pBool(ctx.params, "locked");
      const tagList = pList(ctx.params, "tag_list");
      const maximumTimeout = pInt(ctx.params, "maximum_timeout");
      const r = findRunner(ctx);
      if (!canAdminRunner(ctx.auth!, r)) throw forbidden("No access granted");
      const next: FakeRunner = { ...r };
      if (has(ctx.params, "description")) next.description = pStr(ctx.params, "description") ?? "";
      if (active !== undefined) next.paused = !active;
      if (paused !== undefined) next.paused = paused;
      if (tagList !== undefined) next.tagList = normaliseTags(tagList);
      if (runUntagged !== undefined) next.runUntagged = runUntagged;
      if (locked !== undefined) next.locked = locked;
      if (accessLevel) next.accessLevel = accessLevel;
      if (maximumTimeout !== undefined) next.maximumTimeout = maximumTimeout;
      if (has(ctx.params, "maintenance_note"))
        next.maintenanceNote = pStr(ctx.params, "maintenance_note") ?? null;
      const problems = validateRunner(next);
      if (problems.length) {
        // render_validation_error!(runner): {"message": {"attribute": ["message", ...]}}
        const byAttr: Record<string, string[]> = {};
        for (const m of problems) {
          const [attr, rest] = m.startsWith("Tags list ")
            ? ["tags_list", m.slice("Tags list ".length)]
            : m.startsWith("Maximum timeout ")
              ? ["maximum_timeout", m.slice("Maximum timeout ".length)]
              : m.startsWith("Maintenance note ")
                ? ["maintenance_note", m.slice("Maintenance note ".length)]
                : m.startsWith("Description ")
                  ? ["description", m.slice("Description ".length)]
                  : ["tag_list", m.slice("Tag list ".length)];
          (byAttr[attr] ??= []).push(rest);
        }
        throw apiError(400, byAttr);
      }
      Object.assign(r, next);
      return ok(runnerDetails(r, ctx.auth!));
    },
    { scopes: ["manage_runner"], intParams: ["runner_id"] },
  );
  route(
    "DELETE",
    "/runners/:runner_id",
    (ctx) => {
      const r = findRunner(ctx);
      if (!ctx.auth!.user.isAdmin) {
        if (r.projectIds.length > 1) throw forbidden("Runner associated with more than one project");
        if (!canAdminRunner(ctx.auth!, r)) throw forbidden("No access granted");
      }
      state.runners = state.runners.filter((x) => x.id !== r.id);
      return noContent();
    },
    { scopes: ["manage_runner"], intParams: ["runner_id"] },
  );
  route("GET", "/projects/:id/runners", (ctx) => {
    const p = userProject(ctx);
    authorize(level(ctx, p) >= AccessLevel.MAINTAINER); // :read_project_runners
    const groupIds = new Set<number>();
    for (let g = groupById(p.groupId); g; g = groupById(g.parentId)) groupIds.add(g.id);
    // Ci::Runner.owned_or_instance_wide
    const runners = state.runners.filter(
      (r) =>
        r.projectIds.includes(p.id) ||
        (r.runnerType === "group_type" && r.groupId !== null && groupIds.has(r.groupId)) ||
        r.runnerType === "instance_type",
    );
    return ok(paginate(ctx, applyRunnerFilters(ctx, runners)).map(runnerEntity));
  });
  route("GET", "/groups/:id/runners", (ctx) => {
    const g = userGroup(ctx);
    authorize(groupLevelFor(ctx.auth!.user, g) >= AccessLevel.MAINTAINER); // :read_group_runners
    const descendants = new Set<number>([g.id]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const x of state.groups)
        if (x.parentId !== null && descendants.has(x.parentId) && !descendants.has(x.id)) {
          descendants.add(x.id);
          grew = true;
        }
    }
    const ancestors = new Set<number>();
    for (let a = groupById(g.parentId); a; a = groupById(a.parentId)) ancestors.add(a.id);
    const projectIds = new Set(
      state.projects.filter((p) => p.groupId !== null && descendants.has(p.groupId)).map((p) => p.id),
    );
    // Default type filter for groups is "all available": own, ancestors' and descendants' runners, and instance runners.
    const runners = state.runners.filter(
      (r) =>
        r.runnerType === "instance_type" ||
        (r.runnerType === "group_type" &&
          r.groupId !== null &&
          (descendants.has(r.groupId) || ancestors.has(r.groupId))) ||
        (r.runnerType === "project_type" && r.projectIds.some((id) => projectIds.has(id))),
    );
    return ok(paginate(ctx, applyRunnerFilters(ctx, runners)).map(runnerEntity));
  });

  /**
   * The system note GitLab adds when an issue or merge request is closed or reopened (Issues::CloseService,
   * MergeRequests::CloseService, ...ReopenService -> SystemNoteService.change_status: body "closed" or
   * "reopened", authored by the user, `system: true`). Listed by the notes API with the comments.
   */
  const statusNote = (
    kind: "MergeRequest" | "Issue",
    target: { id: number; iid: number; projectId: number },
    authorId: number,
    status: "closed" | "reopened",
  ): void => {
    const ts = now();
    state.notes.push({
      id: nextId("note"),
      projectId: target.projectId,
      noteableType: kind,
      noteableId: target.id,
      noteableIid: target.iid,
      body: status,
      authorId,
      system: true,
      internal: false,
      createdAt: ts,
      updatedAt: ts,
    });
  };

  // --- merge requests (lib/api/merge_requests.rb) ----------------------------------------------
  const canReadMrs = (ctx: Ctx, p: FakeProject) => readsPublicly(ctx, p, AccessLevel.REPORTER);
  const findMr = (ctx: Ctx, p: FakeProject): FakeMergeRequest => {
    const mr = state.mergeRequests.find((m) => m.projectId === p.id && m.iid === ctx.route.merge_request_iid);
    if (!mr || !canReadMrs(ctx, p)) throw recordNotFound();
    return mr;
  };
  const labelsParam = (p: Params, key: string): string[] | undefined => {
    const l = pList(p, key);
    return l === undefined ? undefined : normaliseTags(l);
  };
  const filterByLabels = <T extends { labels: string[] }>(items: T[], labels: string[] | undefined): T[] => {
    if (!labels || labels.length === 0) return items;
    if (labels.length === 1 && labels[0].toLowerCase() === "none")
      return items.filter((i) => i.labels.length === 0);
    if (labels.length === 1 && labels[0].toLowerCase() === "any")
      return items.filter((i) => i.labels.length > 0);
    return items.filter((i) => labels.every((l) => i.labels.includes(l)));
  };
  const sortIssuables = <T extends { createdAt: string; updatedAt: string; title: string; id: number }>(
    ctx: Ctx,
    items: T[],
  ): T[] => {
    const orderBy =
      pValues(ctx.params, "order_by", ["created_at", "updated_at", "title"] as const) ?? "created_at";
    const sort = pValues(ctx.params, "sort", ["asc", "desc"] as const) ?? "desc";
    const key = (i: T): string =>
      orderBy === "title" ? i.title : orderBy === "updated_at" ? i.updatedAt : i.createdAt;
    const dir = sort === "asc" ? 1 : -1;
    return [...items].sort((a, b) => (key(a) < key(b) ? -dir : key(a) > key(b) ? dir : dir * (a.id - b.id)));
  };
  const openConflict = (
    mr: Pick<FakeMergeRequest, "projectId" | "sourceBranch" | "targetBranch">,
    selfId?: number,
  ) =>
    state.mergeRequests.find(
      (m) =>
        m.projectId === mr.projectId &&
        m.sourceBranch === mr.sourceBranch &&
        m.targetBranch === mr.targetBranch &&
        m.state === "opened" &&
        m.id !== selfId,
    );
  const applyLabelEdits = (current: string[], p: Params): string[] => {
    let labels = labelsParam(p, "labels") ?? current;
    const add = labelsParam(p, "add_labels");
    const remove = labelsParam(p, "remove_labels");
    if (add) labels = normaliseTags([...labels, ...add]);
    if (remove) labels = labels.filter((l) => !remove.includes(l));
    return labels;
  };

  route(
    "GET",
    "/projects/:id/merge_requests",
    (ctx) => {
      const st =
        pValues(ctx.params, "state", ["opened", "closed", "locked", "merged", "all"] as const) ?? "all";
      const sourceBranch = pStr(ctx.params, "source_branch");
      const targetBranch = pStr(ctx.params, "target_branch");
      const labels = labelsParam(ctx.params, "labels");
      const iids = pIntList(ctx.params, "iids");
      const search = pStr(ctx.params, "search");
      const authorId = pInt(ctx.params, "author_id");
      const p = userProject(ctx);
      authorize(canReadMrs(ctx, p));
      let mrs = state.mergeRequests.filter((m) => m.projectId === p.id);
      if (st !== "all") mrs = mrs.filter((m) => m.state === st);
      if (sourceBranch) mrs = mrs.filter((m) => m.sourceBranch === sourceBranch);
      if (targetBranch) mrs = mrs.filter((m) => m.targetBranch === targetBranch);
      if (iids && iids.length) mrs = mrs.filter((m) => iids.includes(m.iid));
      if (authorId != null) mrs = mrs.filter((m) => m.authorId === authorId);
      if (search) {
        const s = search.toLowerCase();
        mrs = mrs.filter(
          (m) => m.title.toLowerCase().includes(s) || (m.description ?? "").toLowerCase().includes(s),
        );
      }
      mrs = filterByLabels(mrs, labels);
      return ok(paginate(ctx, sortIssuables(ctx, mrs)).map(mrEntity));
    },
    { jobToken: true },
  );
  route(
    "GET",
    "/projects/:id/merge_requests/:merge_request_iid",
    (ctx) => ok(mrEntity(findMr(ctx, userProject(ctx)))),
    { jobToken: true, intParams: ["merge_request_iid"] },
  );
  route("POST", "/projects/:id/merge_requests", (ctx) => {
    requireParams(ctx.params, "source_branch", "target_branch", "title");
    const sourceBranch = pStr(ctx.params, "source_branch") ?? "";
    const targetBranch = pStr(ctx.params, "target_branch") ?? "";
    const title = pStr(ctx.params, "title") ?? "";
    const labels = labelsParam(ctx.params, "labels") ?? [];
    const assigneeIds = pIntList(ctx.params, "assignee_ids") ?? [];
    const assigneeId = pInt(ctx.params, "assignee_id");
    const reviewerIds = pIntList(ctx.params, "reviewer_ids") ?? [];
    const squash = pBool(ctx.params, "squash") ?? false;
    const removeSourceBranch = pBool(ctx.params, "remove_source_branch") ?? false;
    const targetProjectId = pInt(ctx.params, "target_project_id");
    const p = userProject(ctx);
    authorize(level(ctx, p) >= AccessLevel.DEVELOPER); // :create_merge_request_from / _in
    if (targetProjectId != null && targetProjectId !== p.id) throw forbidden();
    // MergeRequests::BuildService / MergeRequest#validate_branches
    if (sourceBranch === targetBranch)
      throw apiError(422, ["You can't use same project/branch for source and target"]);
    if (!p.branches[sourceBranch]) throw apiError(422, [`Source branch "${sourceBranch}" does not exist`]);
    if (!p.branches[targetBranch]) throw apiError(422, [`Target branch "${targetBranch}" does not exist`]);
    const conflict = openConflict({ projectId: p.id, sourceBranch, targetBranch });
    if (conflict)
      throw apiError(409, [
        `Another open merge request already exists for this source branch: !${conflict.iid}`,
      ]);
    if (title.trim() === "") throw apiError(400, { title: ["can't be blank"] });
    const ts = now();
    const mr: FakeMergeRequest = {
      id: nextId("mergeRequest"),
      iid: nextIid("mr", p.id),
      projectId: p.id,
      title,
      description: pStr(ctx.params, "description") ?? null,
      state: "opened",
      sourceBranch,
      targetBranch,
      labels,
      authorId: ctx.auth!.user.id,
      assigneeIds: assigneeIds.length ? assigneeIds : assigneeId != null ? [assigneeId] : [],
      reviewerIds,
      squash,
      removeSourceBranch,
      sha: p.branches[sourceBranch].commitId,
      createdAt: ts,
      updatedAt: ts,
      closedAt: null,
      mergedAt: null,
    };
    state.mergeRequests.push(mr);
    return created(mrEntity(mr));
  });
  route(
    "PUT",
    "/projects/:id/merge_requests/:merge_request_iid",
    (ctx) => {
      const keys = [
        "target_branch",
        "title",
        "assignee_id",
        "assignee_ids",
        "reviewer_ids",
        "description",
        "state_event",
        "labels",
        "add_labels",
        "remove_labels",
        "milestone_id",
        "remove_source_branch",
        "allow_collaboration",
        "allow_maintainer_to_push",
        "squash",
        "discussion_locked",
      ];
      if (!keys.some((k) => has(ctx.params, k)))
        throw grapeError(`${keys.join(", ")} are missing, at least one parameter must be provided`);
      const stateEvent = pValues(ctx.params, "state_event", ["close", "reopen"] as const);
      const title = pStr(ctx.params, "title");
      const targetBranch = pStr(ctx.params, "target_branch");
      const assigneeIds = pIntList(ctx.params, "assignee_ids");
      const reviewerIds = pIntList(ctx.params, "reviewer_ids");
      const squash = pBool(ctx.params, "squash");
      const removeSourceBranch = pBool(ctx.params, "remove_source_branch");
      const p = userProject(ctx);
      const mr = findMr(ctx, p);
      // :update_merge_request — Developer, or the author
      authorize(level(ctx, p) >= AccessLevel.DEVELOPER || mr.authorId === ctx.auth!.user.id);
      const next: FakeMergeRequest = { ...mr };
      if (title != null) next.title = title;
      if (has(ctx.params, "description")) next.description = pStr(ctx.params, "description") ?? null;
      if (targetBranch != null) next.targetBranch = targetBranch;
      if (assigneeIds) next.assigneeIds = assigneeIds;
      if (reviewerIds) next.reviewerIds = reviewerIds;
      if (squash !== undefined) next.squash = squash;
      if (removeSourceBranch !== undefined) next.removeSourceBranch = removeSourceBranch;
      next.labels = applyLabelEdits(mr.labels, ctx.params);
      if (stateEvent === "close" && mr.state === "opened") {
        next.state = "closed";
        next.closedAt = now();
      }
      // MergeRequest#reopenable? needs the source branch; ReopenService reloads the diff, so the merge
      // request takes the source branch's head. (Without the branch the fake leaves it closed.)
      if (stateEvent === "reopen" && mr.state === "closed" && p.branches[mr.sourceBranch]) {
        next.state = "opened";
        next.closedAt = null;
        next.sha = p.branches[mr.sourceBranch].commitId;
      }
      if (next.title.trim() === "") throw apiError(400, { title: ["can't be blank"] });
      if (targetBranch != null && !p.branches[targetBranch])
        throw apiError(422, [`Target branch "${targetBranch}" does not exist`]);
      if (next.state === "opened") {
        const conflict = openConflict(next, mr.id);
        if (conflict)
          throw apiError(409, [
            `Another open merge request already exists for this source branch: !${conflict.iid}`,
          ]);
      }
      const status = next.state === mr.state ? undefined : next.state === "closed" ? "closed" : "reopened";
      Object.assign(mr, next, { updatedAt: now() });
      if (status) statusNote("MergeRequest", mr, ctx.auth!.user.id, status);
      return ok(mrEntity(mr));
    },
    { intParams: ["merge_request_iid"] },
  );

  // --- issues (lib/api/issues.rb) ---------------------------------------------------------
  const canReadIssues = (ctx: Ctx, p: FakeProject) => readsPublicly(ctx, p, AccessLevel.GUEST);
  const findIssue = (ctx: Ctx, p: FakeProject): FakeIssue => {
    const i = state.issues.find((x) => x.projectId === p.id && x.iid === ctx.route.issue_iid);
    if (!i || !canReadIssues(ctx, p)) throw recordNotFound();
    if (i.confidential && level(ctx, p) < AccessLevel.PLANNER && i.authorId !== ctx.auth!.user.id)
      throw recordNotFound();
    return i;
  };
  route("GET", "/projects/:id/issues", (ctx) => {
    const st = pValues(ctx.params, "state", ["opened", "closed", "all"] as const) ?? "all";
    const labels = labelsParam(ctx.params, "labels");
    const search = pStr(ctx.params, "search");
    const iids = pIntList(ctx.params, "iids");
    const p = userProject(ctx);
    authorize(canReadIssues(ctx, p));
    const privileged = level(ctx, p) >= AccessLevel.PLANNER;
    let issues = state.issues.filter(
      (i) => i.projectId === p.id && (!i.confidential || privileged || i.authorId === ctx.auth!.user.id),
    );
    if (st !== "all") issues = issues.filter((i) => i.state === st);
    if (iids && iids.length) issues = issues.filter((i) => iids.includes(i.iid));
    if (search) {
      const s = search.toLowerCase();
      issues = issues.filter(
        (i) => i.title.toLowerCase().includes(s) || (i.description ?? "").toLowerCase().includes(s),
      );
    }
    issues = filterByLabels(issues, labels);
    return ok(paginate(ctx, sortIssuables(ctx, issues)).map(issueEntity));
  });
  route(
    "GET",
    "/projects/:id/issues/:issue_iid",
    (ctx) => ok(issueEntity(findIssue(ctx, userProject(ctx)))),
    { intParams: ["issue_iid"] },
  );
  route("POST", "/projects/:id/issues", (ctx) => {
    requireParams(ctx.params, "title");
    const title = pStr(ctx.params, "title") ?? "";
    const labels = labelsParam(ctx.params, "labels") ?? [];
    const assigneeIds = pIntList(ctx.params, "assignee_ids") ?? [];
    const confidential = pBool(ctx.params, "confidential") ?? false;
    const p = userProject(ctx);
    authorize(canReadIssues(ctx, p)); // :create_issue
    if (title.trim() === "") throw apiError(400, { title: ["can't be blank"] });
    const ts = now();
    const issue: FakeIssue = {
      id: nextId("issue"),
      iid: nextIid("issue", p.id),
      projectId: p.id,
      title,
      description: pStr(ctx.params, "description") ?? null,
      state: "opened",
      labels,
      authorId: ctx.auth!.user.id,
      assigneeIds,
      confidential,
      createdAt: ts,
      updatedAt: ts,
      closedAt: null,
      closedById: null,
    };
    state.issues.push(issue);
    return created(issueEntity(issue));
  });
  route(
    "PUT",
    "/projects/:id/issues/:issue_iid",
    (ctx) => {
      const stateEvent = pValues(ctx.params, "state_event", ["close", "reopen"] as const);
      const title = pStr(ctx.params, "title");
      const assigneeIds = pIntList(ctx.params, "assignee_ids");
      const confidential = pBool(ctx.params, "confidential");
      const p = userProject(ctx);
      const issue = findIssue(ctx, p);
      // :update_issue — Planner/Reporter and up, or the author
      authorize(level(ctx, p) >= AccessLevel.PLANNER || issue.authorId === ctx.auth!.user.id);
      const next: FakeIssue = { ...issue };
      if (title != null) next.title = title;
      if (has(ctx.params, "description")) next.description = pStr(ctx.params, "description") ?? null;
      if (assigneeIds) next.assigneeIds = assigneeIds;
      if (confidential !== undefined) next.confidential = confidential;
      next.labels = applyLabelEdits(issue.labels, ctx.params);
      if (stateEvent === "close" && issue.state === "opened") {
        next.state = "closed";
        next.closedAt = now();
        next.closedById = ctx.auth!.user.id;
      }
      if (stateEvent === "reopen" && issue.state === "closed") {
        next.state = "opened";
        next.closedAt = null;
        next.closedById = null;
      }
      if (next.title.trim() === "") throw apiError(400, { title: ["can't be blank"] });
      const status = next.state === issue.state ? undefined : next.state === "closed" ? "closed" : "reopened";
      Object.assign(issue, next, { updatedAt: now() });
      if (status) statusNote("Issue", issue, ctx.auth!.user.id, status);
      return ok(issueEntity(issue));
    },
    { intParams: ["issue_iid"] },
  );

  // --- notes (lib/api/notes.rb) on merge requests and issues ------------------------------
  type NoteableKind = "MergeRequest" | "Issue";
  const noteable = (ctx: Ctx, kind: NoteableKind) => {
    const p = userProject(ctx);
    // NotesHelpers#find_noteable: not_found!(noteable_type)
    if (kind === "MergeRequest") {
      const mr = state.mergeRequests.find((m) => m.projectId === p.id && m.iid === ctx.route.noteable_iid);
      if (!mr || !canReadMrs(ctx, p)) throw notFound("MergeRequest");
      return { p, id: mr.id, iid: mr.iid };
    }
    const issue = state.issues.find((i) => i.projectId === p.id && i.iid === ctx.route.noteable_iid);
    if (!issue || !canReadIssues(ctx, p)) throw notFound("Issue");
    return { p, id: issue.id, iid: issue.iid };
  };
  const notesRoutes = (kind: NoteableKind, segment: string): void => {
    const base = `/projects/:id/${segment}/:noteable_iid/notes`;
    const isMr = kind === "MergeRequest";
    route(
      "GET",
      base,
      (ctx) => {
        const orderBy =
          pValues(ctx.params, "order_by", ["created_at", "updated_at"] as const) ?? "created_at";
        const sort = pValues(ctx.params, "sort", ["asc", "desc"] as const) ?? "desc";
        const n = noteable(ctx, kind);
        const privileged = level(ctx, n.p) >= AccessLevel.REPORTER;
        const notes = state.notes
          .filter((x) => x.noteableType === kind && x.noteableId === n.id && (!x.internal || privileged))
          .sort((a, b) => {
            const ka = orderBy === "updated_at" ? a.updatedAt : a.createdAt;
            const kb = orderBy === "updated_at" ? b.updatedAt : b.createdAt;
            const dir = sort === "asc" ? 1 : -1;
            return ka < kb ? -dir : ka > kb ? dir : dir * (a.id - b.id);
          });
        return ok(paginate(ctx, notes).map(noteEntity));
      },
      { jobToken: isMr, intParams: ["noteable_iid"] },
    );
    route(
      "GET",
      `${base}/:note_id`,
      (ctx) => {
        const n = noteable(ctx, kind);
        const note = state.notes.find(
          (x) => x.id === ctx.route.note_id && x.noteableType === kind && x.noteableId === n.id,
        );
        if (!note) throw recordNotFound();
        return ok(noteEntity(note));
      },
      { jobToken: isMr, intParams: ["noteable_iid", "note_id"] },
    );
    route(
      "POST",
      base,
      (ctx) => {
        requireParams(ctx.params, "body");
        const body = pStr(ctx.params, "body") ?? "";
        const internal = pBool(ctx.params, "internal") ?? pBool(ctx.params, "confidential") ?? false;
        const n = noteable(ctx, kind);
        if (internal && level(ctx, n.p) < AccessLevel.REPORTER) throw forbidden();
        if (body.trim() === "") throw apiError(400, { note: ["can't be blank"] });
        const ts = now();
        const note: FakeNote = {
          id: nextId("note"),
          projectId: n.p.id,
          noteableType: kind,
          noteableId: n.id,
          noteableIid: n.iid,
          body,
          authorId: ctx.auth!.user.id,
          system: false,
          internal,
          createdAt: ts,
          updatedAt: ts,
        };
        state.notes.push(note);
        return created(noteEntity(note));
      },
      { intParams: ["noteable_iid"] },
    );
    route(
      "PUT",
      `${base}/:note_id`,
      (ctx) => {
        const body = pStr(ctx.params, "body");
        const n = noteable(ctx, kind);
        const note = state.notes.find(
          (x) => x.id === ctx.route.note_id && x.noteableType === kind && x.noteableId === n.id,
        );
        if (!note) throw recordNotFound();
        // :admin_note — the note's author (or an admin)
        authorize(note.authorId === ctx.auth!.user.id || ctx.auth!.user.isAdmin);
        if (body != null) {
          if (body.trim() === "") throw apiError(400, { note: ["can't be blank"] });
          note.body = body;
        }
        note.updatedAt = now();
        return ok(noteEntity(note));
      },
      { intParams: ["noteable_iid", "note_id"] },
    );
    route(
      "DELETE",
      `${base}/:note_id`,
      (ctx) => {
        const n = noteable(ctx, kind);
        const note = state.notes.find(
          (x) => x.id === ctx.route.note_id && x.noteableType === kind && x.noteableId === n.id,
        );
        if (!note) throw recordNotFound();
        authorize(note.authorId === ctx.auth!.user.id || ctx.auth!.user.isAdmin);
        state.notes = state.notes.filter((x) => x.id !== note.id);
        return noContent();
      },
      { intParams: ["noteable_iid", "note_id"] },
    );
  };
  notesRoutes("MergeRequest", "merge_requests");
  notesRoutes("Issue", "issues");

  // ------------------------------------------------------------------------------------------
  // Authentication (lib/api/api_guard.rb, lib/gitlab/auth/auth_finders.rb)
  // ------------------------------------------------------------------------------------------

  function isExpired(t: FakeToken): boolean {
    if (!t.expiresAt) return false;
    return t.expiresAt <= new Date().toISOString().slice(0, 10);
  }

  function authenticate(
    req: http.IncomingMessage,
    query: Record<string, string | string[]>,
    body: Params,
    r: Route,
    method: string,
  ): AuthInfo {
    const header = (name: string): string | undefined => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const queryStr = (k: string): string | undefined => {
      const v = query[k] ?? body[k];
      return typeof v === "string" ? v : undefined;
    };
    const bearer = header("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
    const privateToken =
      header("private-token") ?? queryStr("private_token") ?? bearer ?? queryStr("access_token");
    if (privateToken !== undefined) {
      const t = state.tokens.find((x) => x.token === privateToken);
      if (!t) throw unauthorized();
      if (t.revoked)
        throw new HttpError(401, {
          error: "invalid_token",
          error_description: "Token was revoked. You have to re-authorize from the user.",
        });
      if (isExpired(t))
        throw new HttpError(401, {
          error: "invalid_token",
          error_description: "Token is expired. You can either do re-authorization or token refresh.",
        });
      const user = userById(t.userId);
      if (!user || user.state !== "active") throw unauthorized();
      if (!r.anyScope) {
        const isGet = method === "GET" || method === "HEAD";
        const allowed = [...(r.scopes ?? []), "api", ...(isGet ? ["read_api", ...(r.getScopes ?? [])] : [])];
        if (!t.scopes.some((s) => allowed.includes(s)))
          throw new HttpError(403, {
            error: "insufficient_scope",
            error_description: "The request requires higher privileges than provided by the access token.",
            scope: allowed.join(" "),
          });
      }
      t.lastUsedAt = now();
      return { kind: "token", user, token: t };
    }
    const jobToken = header("job-token") ?? queryStr("job_token");
    if (jobToken !== undefined && r.jobToken) {
      const job = state.jobTokens.find((j) => j.token === jobToken);
      if (!job) throw unauthorized();
      const user = userById(job.userId);
      if (!user || user.state !== "active") throw unauthorized();
      return { kind: "job", user, job };
    }
    // No credentials, or a job token on a route that does not accept one: authenticate! fails.
    throw unauthorized();
  }

  // ------------------------------------------------------------------------------------------
  // HTTP plumbing
  // ------------------------------------------------------------------------------------------

  function matchRoute(
    method: string,
    apiPath: string,
  ): { r: Route; params: Record<string, string> } | undefined {
    const segs = apiPath.split("/").filter(Boolean);
    for (const r of routes) {
      if (r.method !== method || r.segments.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let okMatch = true;
      for (let i = 0; i < segs.length; i++) {
        const pat = r.segments[i];
        if (pat.startsWith(":")) {
          try {
            params[pat.slice(1)] = decodeURIComponent(segs[i]);
          } catch {
            okMatch = false;
            break;
          }
        } else if (pat !== segs[i]) {
          okMatch = false;
          break;
        }
      }
      if (okMatch) return { r, params };
    }
    return undefined;
  }

  async function readBody(req: http.IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  function parseBody(req: http.IncomingMessage, raw: Buffer): Params {
    if (raw.length === 0) return {};
    const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    if (type === "application/json") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw.toString("utf8"));
      } catch {
        throw grapeError("The request body is not valid JSON");
      }
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return {};
      return parsed as Params;
    }
    if (type === "application/x-www-form-urlencoded") return parseQuery(raw.toString("utf8"));
    return {};
  }

  function send(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string>,
  ): void {
    const h: Record<string, string> = { "x-request-id": crypto.randomUUID(), ...headers };
    let payload: Buffer | undefined;
    if (status === 204 || body === undefined) {
      payload = undefined;
    } else if (Buffer.isBuffer(body)) {
      payload = body;
      h["content-type"] ??= "text/plain; charset=utf-8";
    } else if (typeof body === "string") {
      payload = Buffer.from(body, "utf8");
      h["content-type"] ??= "text/plain; charset=utf-8";
    } else {
      payload = Buffer.from(JSON.stringify(body), "utf8");
      h["content-type"] = "application/json";
    }
    if (payload) h["content-length"] = String(payload.length);
    res.writeHead(status, h);
    res.end(payload);
  }

  function faultReply(f: Fault): { status: number; body: string | object; headers: Record<string, string> } {
    switch (f.status) {
      case 429: {
        const reset = Math.floor(Date.now() / 1000) + f.retryAfterSeconds;
        return {
          status: 429,
          body: "Retry later\n",
          headers: {
            "content-type": "text/plain",
            "retry-after": String(f.retryAfterSeconds),
            "ratelimit-name": "throttle_authenticated_api",
            "ratelimit-limit": "60",
            "ratelimit-observed": "61",
            "ratelimit-remaining": "0",
            "ratelimit-reset": String(reset),
            "ratelimit-resettime": new Date(reset * 1000).toUTCString(),
          },
        };
      }
      case 500:
        return { status: 500, body: { message: "500 Internal Server Error" }, headers: {} };
      case 502:
        return {
          status: 502,
          body: "<!DOCTYPE html>\n<html><head><title>GitLab is not responding (502)</title></head><body><h1>502</h1><h3>Whoops, GitLab is taking too much time to respond.</h3></body></html>\n",
          headers: { "content-type": "text/html; charset=utf-8" },
        };
      case 503:
        return {
          status: 503,
          body: "<!DOCTYPE html>\n<html><head><title>The server is temporarily unavailable (503)</title></head><body><h1>503</h1><h3>The server is temporarily unavailable.</h3></body></html>\n",
          headers: { "content-type": "text/html; charset=utf-8" },
        };
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const rawUrl = req.url ?? "/";
    const qIndex = rawUrl.indexOf("?");
    const rawPath = qIndex === -1 ? rawUrl : rawUrl.slice(0, qIndex);
    const query = parseQuery(qIndex === -1 ? "" : rawUrl.slice(qIndex + 1));
    const entry: RequestLogEntry = { method, path: rawPath, query: redactQuery(query), status: 0 };
    requests.push(entry);
    const raw = await readBody(req);

    const fault = faults.find(
      (f) => (!f.method || f.method.toUpperCase() === method) && matchesPattern(rawPath, f.pathPattern),
    );
    if (fault) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) faults = faults.filter((f) => f !== fault);
      const reply = faultReply(fault);
      entry.status = reply.status;
      send(res, reply.status, reply.body, reply.headers);
      return;
    }

    const API = "/api/v4";
    const matched =
      rawPath === API || rawPath.startsWith(`${API}/`)
        ? matchRoute(method, rawPath.slice(API.length))
        : undefined;
    if (!matched) {
      // API::API catch-all: route :any, '*path' { error!('404 Not Found', 404) }
      entry.status = 404;
      send(res, 404, { error: "404 Not Found" }, {});
      return;
    }
    entry.route = `${matched.r.method} ${matched.r.pattern}`;
    const ctx: Ctx = { method, rawPath, query, params: {}, route: {}, auth: null };
    try {
      const body = parseBody(req, raw);
      ctx.auth = authenticate(req, query, body, matched.r, method);
      for (const [k, v] of Object.entries(matched.params)) {
        if (matched.r.intParams?.includes(k)) {
          if (!/^\d+$/.test(v)) throw grapeError(`${k} is invalid`);
          ctx.route[k] = Number(v);
        } else {
          ctx.route[k] = v;
        }
      }
      ctx.params = { ...query, ...body, ...ctx.route };
      const reply = matched.r.handler(ctx);
      entry.status = reply.status;
      const late = lateAnswers.find(
        (l) => (!l.method || l.method.toUpperCase() === method) && matchesPattern(rawPath, l.pathPattern),
      );
      if (late) {
        lateAnswers = lateAnswers.filter((l) => l !== late);
        await new Promise((r) => setTimeout(r, late.delayMs));
        if (res.destroyed || req.socket.destroyed) return;
      }
      send(res, reply.status, reply.body, paginationHeaders.get(ctx) ?? {});
    } catch (err) {
      if (err instanceof HttpError) {
        entry.status = err.status;
        send(res, err.status, err.body, err.headers);
        return;
      }
      entry.status = 500;
      send(res, 500, { message: "500 Internal Server Error" }, {});
      // Surface programming errors in the fake to the test output.
      console.error("fake-gitlab: handler crashed:", err);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Server
  // ------------------------------------------------------------------------------------------

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      console.error("fake-gitlab: request failed:", err);
      if (!res.headersSent) send(res, 500, { message: "500 Internal Server Error" }, {});
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("fake-gitlab: no TCP address");
  baseUrl = `http://127.0.0.1:${address.port}`;

  // ------------------------------------------------------------------------------------------
  // Public object
  // ------------------------------------------------------------------------------------------

  const filterRequests = (filter: RequestFilter = {}): RequestLogEntry[] =>
    requests.filter(
      (r) =>
        (!filter.method || r.method === filter.method.toUpperCase()) &&
        (filter.status === undefined || r.status === filter.status) &&
        matchesPattern(r.path, filter.pathPattern),
    );

  const fake: FakeGitlab = {
    url: baseUrl,
    state,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),

    failNext(o) {
      faults.push({
        method: o.method,
        pathPattern: o.pathPattern,
        status: o.status,
        retryAfterSeconds: o.retryAfterSeconds ?? 1,
        remaining: o.times ?? 1,
      });
    },
    answerLate(o) {
      lateAnswers.push({ ...o });
    },
    pendingFaults: () => faults.reduce((n, f) => n + f.remaining, 0) + lateAnswers.length,
    clearFaults() {
      faults = [];
      lateAnswers = [];
    },

    requestsMatching: filterRequests,
    countRequests: (filter) => filterRequests(filter).length,
    mutatingRequests: (filter = {}) => filterRequests(filter).filter((r) => MUTATING.has(r.method)),
    countMutatingRequests: (filter = {}) =>
      filterRequests(filter).filter((r) => MUTATING.has(r.method)).length,
    clearRequests() {
      requests.length = 0;
    },

    addUser(input) {
      const u: FakeUser = {
        id: nextId("user"),
        username: input.username,
        name: input.name ?? input.username,
        email: input.email ?? `${input.username}@example.com`,
        isAdmin: input.isAdmin ?? false,
        bot: input.bot ?? false,
        state: "active",
        createdAt: now(),
      };
      state.users.push(u);
      return u;
    },
    addToken(input) {
      const t: FakeToken = {
        id: nextId("token"),
        token: input.token ?? `glpat-${randomToken(20)}`,
        name: input.name ?? "test-token",
        description: null,
        userId: input.userId,
        scopes: [...input.scopes],
        revoked: input.revoked ?? false,
        expiresAt: input.expiresAt ?? null,
        createdAt: now(),
        lastUsedAt: null,
      };
      state.tokens.push(t);
      return t;
    },
    addJobToken(input) {
      const j: FakeJobToken = {
        token: input.token ?? `glcbt-${randomToken(24)}`,
        jobId: nextId("job"),
        userId: input.userId,
        projectId: input.projectId,
      };
      state.jobTokens.push(j);
      return j;
    },
    addGroup(input) {
      const g: FakeGroup = {
        id: nextId("namespace"),
        name: input.name ?? input.path,
        path: input.path,
        parentId: input.parentId ?? null,
        description: "",
        visibility: input.visibility ?? "private",
        members: { ...(input.members ?? {}) },
        createdAt: now(),
      };
      state.groups.push(g);
      return g;
    },
    addProject(input) {
      const defaultBranch = input.defaultBranch ?? "main";
      const seed = sha1Hex();
      const p: FakeProject = {
        id: nextId("project"),
        name: input.name ?? input.path,
        path: input.path,
        groupId: input.groupId ?? null,
        ownerUserId: input.ownerUserId ?? null,
        description: input.description ?? "",
        visibility: input.visibility ?? "private",
        defaultBranch,
        members: { ...(input.members ?? {}) },
        jobTokenAllowlist: [],
        branches: { [defaultBranch]: { name: defaultBranch, commitId: seed, protected: true } },
        files: { [defaultBranch]: {} },
        createdAt: now(),
      };
      if (p.groupId === null && p.ownerUserId === null)
        throw new Error("fake-gitlab: addProject needs groupId or ownerUserId");
      state.projects.push(p);
      return p;
    },
    setMember(target, userId, lvl) {
      if ("projectId" in target) {
        const p = projectById(target.projectId);
        if (!p) throw new Error(`fake-gitlab: no project ${target.projectId}`);
        p.members[userId] = lvl;
      } else {
        const g = groupById(target.groupId);
        if (!g) throw new Error(`fake-gitlab: no group ${target.groupId}`);
        g.members[userId] = lvl;
      }
    },
    addBranch(projectId, name, opts = {}) {
      const p = projectById(projectId);
      if (!p) throw new Error(`fake-gitlab: no project ${projectId}`);
      const from = opts.from ?? p.defaultBranch;
      const src = p.branches[from];
      const b: FakeBranch = {
        name,
        commitId: src ? src.commitId : sha1Hex(),
        protected: opts.protected ?? false,
      };
      p.branches[name] = b;
      p.files[name] = { ...(p.files[from] ?? {}) };
      return b;
    },
    pushCommit(projectId, branch, sha) {
      const p = projectById(projectId);
      if (!p) throw new Error(`fake-gitlab: no project ${projectId}`);
      if (!p.branches[branch]) fake.addBranch(projectId, branch);
      return pushed(p, branch, "Pushed", [p.branches[branch].commitId], sha);
    },
    putFile(projectId, branch, filePath, content) {
      const p = projectById(projectId);
      if (!p) throw new Error(`fake-gitlab: no project ${projectId}`);
      if (!p.branches[branch]) fake.addBranch(projectId, branch);
      const buf = Buffer.isBuffer(content) ? content : Buffer.from(content, "utf8");
      const f: FakeRepoFile = {
        content: buf,
        blobId: gitBlobId(buf),
        lastCommitId: p.branches[branch].commitId,
        executeFilemode: false,
      };
      (p.files[branch] ??= {})[filePath] = f;
      return f;
    },
    readFile(projectId, branch, filePath) {
      return projectById(projectId)?.files[branch]?.[filePath]?.content.toString("utf8");
    },
    addAgent(input) {
      const a: FakeAgent = {
        id: nextId("agent"),
        projectId: input.projectId,
        name: input.name,
        createdAt: now(),
        createdByUserId: input.createdByUserId ?? null,
      };
      state.agents.push(a);
      return a;
    },
    addAgentToken(input) {
      const t: FakeAgentToken = {
        id: nextId("agentToken"),
        agentId: input.agentId,
        name: input.name,
        description: input.description ?? null,
        status: input.status ?? "active",
        token: `glagent-${randomToken(50)}`,
        createdAt: now(),
        createdByUserId: null,
        lastUsedAt: input.lastUsedAt ?? null,
      };
      state.agentTokens.push(t);
      return t;
    },
    addEnvironment(input) {
      const ts = now();
      const e: FakeEnvironment = {
        slug: envSlug(input.name),
        description: null,
        externalUrl: null,
        tier: guessTier(input.name),
        state: "available",
        clusterAgentId: null,
        kubernetesNamespace: null,
        fluxResourcePath: null,
        autoStopSetting: "always",
        autoStopAt: null,
        createdAt: ts,
        updatedAt: ts,
        ...input,
        id: nextId("environment"),
      };
      state.environments.push(e);
      return e;
    },
    addDeployment(input) {
      const env =
        state.environments.find((e) => e.projectId === input.projectId && e.name === input.environment) ??
        fake.addEnvironment({ projectId: input.projectId, name: input.environment });
      const ts = now();
      const status = input.status ?? "success";
      const d: FakeDeployment = {
        id: nextId("deployment"),
        iid: nextIid("deployment", input.projectId),
        projectId: input.projectId,
        environmentId: env.id,
        sha: input.sha,
        ref: input.ref,
        status,
        createdAt: ts,
        updatedAt: ts,
        finishedAt: ["success", "failed", "canceled"].includes(status) ? ts : null,
      };
      state.deployments.push(d);
      return d;
    },
    addRunner(input) {
      const typeNumber = { instance_type: 1, group_type: 2, project_type: 3 }[input.runnerType];
      const r: FakeRunner = {
        name: null,
        description: "",
        tagList: [],
        runUntagged: true,
        locked: false,
        accessLevel: "not_protected",
        maximumTimeout: null,
        paused: false,
        maintenanceNote: null,
        projectIds: [],
        groupId: null,
        creatorId: null,
        token: `glrt-t${typeNumber}_${randomToken(20)}`,
        tokenExpiresAt: null,
        contactedAt: null,
        createdAt: now(),
        ...input,
        id: nextId("runner"),
      };
      state.runners.push(r);
      return r;
    },
    mergeMergeRequest(projectId, iid) {
      const p = projectById(projectId);
      const mr = state.mergeRequests.find((m) => m.projectId === projectId && m.iid === iid);
      if (!p || !mr || mr.state !== "opened") throw new Error(`fake-gitlab: no open merge request !${iid}`);
      const c = pushed(p, mr.targetBranch, `Merge branch '${mr.sourceBranch}' into '${mr.targetBranch}'`, [
        p.branches[mr.targetBranch].commitId,
        mr.sha ?? p.branches[mr.sourceBranch].commitId,
      ]);
      Object.assign(mr, { state: "merged", mergedAt: now(), updatedAt: now() });
      if (mr.removeSourceBranch) {
        delete p.branches[mr.sourceBranch];
        delete p.files[mr.sourceBranch];
      }
      return c;
    },
    addMergeRequest(input) {
      const ts = now();
      const mr: FakeMergeRequest = {
        description: null,
        state: "opened",
        labels: [],
        assigneeIds: [],
        reviewerIds: [],
        squash: false,
        removeSourceBranch: false,
        sha: null,
        createdAt: ts,
        updatedAt: ts,
        closedAt: null,
        mergedAt: null,
        ...input,
        id: nextId("mergeRequest"),
        iid: nextIid("mr", input.projectId),
      };
      state.mergeRequests.push(mr);
      return mr;
    },
    addIssue(input) {
      const ts = now();
      const issue: FakeIssue = {
        description: null,
        state: "opened",
        labels: [],
        assigneeIds: [],
        confidential: false,
        createdAt: ts,
        updatedAt: ts,
        closedAt: null,
        closedById: null,
        ...input,
        id: nextId("issue"),
        iid: nextIid("issue", input.projectId),
      };
      state.issues.push(issue);
      return issue;
    },
    addNote(input) {
      const target =
        input.noteableType === "MergeRequest"
          ? state.mergeRequests.find((m) => m.projectId === input.projectId && m.iid === input.noteableIid)
          : state.issues.find((i) => i.projectId === input.projectId && i.iid === input.noteableIid);
      if (!target) throw new Error(`fake-gitlab: no ${input.noteableType} !${input.noteableIid}`);
      const ts = now();
      const note: FakeNote = {
        id: nextId("note"),
        projectId: input.projectId,
        noteableType: input.noteableType,
        noteableId: target.id,
        noteableIid: input.noteableIid,
        body: input.body,
        authorId: input.authorId,
        system: input.system ?? false,
        internal: false,
        createdAt: ts,
        updatedAt: ts,
      };
      state.notes.push(note);
      return note;
    },
    commitsFor(projectId, branch) {
      return state.commits.filter(
        (c) => c.projectId === projectId && (branch === undefined || c.branch === branch),
      );
    },
  };
  return fake;
}
