/** The fake GitLab's state and its public interface. */

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
  /**
   * Set when a fault struck after GitLab carried the request out: the status GitLab answered. `status` is
   * what the client got (the proxy's status, or 0 when the answer was lost or never sent).
   */
  applied?: number;
}

/** Which requests a fault hits: method, path, and how many of them (default 1). */
export interface FaultTarget {
  method?: string;
  /** Substring of, or RegExp tested against, the raw path (and the percent-decoded path). */
  pathPattern?: string | RegExp;
  times?: number;
}

export interface FailNextOptions {
  method?: string;
  /** Substring of, or RegExp tested against, the raw path (and the percent-decoded path). */
  pathPattern?: string | RegExp;
  status: 429 | 500 | 502 | 503 | 504;
  /** Retry-After: for 429 (default 1), and for 503 when given (none otherwise). */
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
  answerLate(options: FaultTarget & { delayMs: number }): void;
  /**
   * The next matching request is carried out, then the connection is closed without an answer: what a
   * client sees when a proxy or load balancer drops the connection after GitLab committed the change.
   */
  loseAnswer(options?: FaultTarget): void;
  /** The next matching request is carried out, then a proxy answers `status` (GitLab committed all the same). */
  failAfterApplying(options: FaultTarget & { status: 500 | 502 | 504 }): void;
  /**
   * The next matching request gets no answer until the client gives up (closes the connection). With
   * `apply: false` it is never carried out; by default it is, and only the answer stalls.
   */
  stall(options?: FaultTarget & { apply?: boolean }): void;
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
