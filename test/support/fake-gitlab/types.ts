/** The fake GitLab's state: what the API reads and writes, and what tests seed and assert on. */

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

/** A project deploy token (app/models/deploy_token.rb; project deploy tokens only). */
export interface FakeDeployToken {
  id: number;
  projectId: number;
  name: string;
  username: string;
  scopes: string[];
  expiresAt: string | null;
  revoked: boolean;
  /** The secret (gldt-...). Only returned by the create call. */
  token: string;
  createdAt: string;
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
  deployTokens: FakeDeployToken[];
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
