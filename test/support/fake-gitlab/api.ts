/** The fake's public interface: FakeGitlab, its options, the request log and fault targets. */
import type {
  Visibility,
  FakeUser,
  FakeToken,
  FakeJobToken,
  FakeGroup,
  FakeRepoFile,
  FakeBranch,
  FakeProject,
  FakeAgent,
  FakeAgentToken,
  FakeDeployToken,
  FakeEnvironment,
  FakeDeployment,
  RunnerType,
  FakeRunner,
  FakeMergeRequest,
  FakeIssue,
  FakeNote,
  FakeCommit,
  FakeKas,
  FakeInstance,
  FakeGitlabState,
} from "./types";

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
  /**
   * Called when the fault meets its first request, before that request is carried out: e.g. to arm a
   * fault on the lookup that follows an ambiguous POST, and on nothing before it.
   */
  onHit?: () => void;
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
  /** As FaultTarget's. */
  onHit?: () => void;
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
  /** A project deploy token someone else created (read_repository unless told). */
  addDeployToken(input: { projectId: number; name: string; scopes?: string[] }): FakeDeployToken;
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
