/**
 * A seeded fake GitLab for tests: group `platform` with projects `platform/clusters` (where agents are
 * registered) and `platform/apps`, and users with the tokens a platform team would have.
 */
import { AccessLevel, FakeGitlab, FakeGitlabOptions, startFakeGitlab } from "./fake-gitlab";

export interface GitlabWorld {
  fake: FakeGitlab;
  clustersId: number;
  appsId: number;
  groupId: number;
  /** Maintainer on platform/clusters, token with `api`. */
  maintainerToken: string;
  /** Developer on platform/clusters, token with `api`. */
  developerToken: string;
  /** Maintainer, but a token with `read_api` only. */
  readOnlyToken: string;
  /** A CI job token of platform/clusters. */
  jobToken: string;
}

export async function gitlabWorld(options?: FakeGitlabOptions): Promise<GitlabWorld> {
  const fake = await startFakeGitlab(options);
  const maintainer = fake.addUser({ username: "platform-bot" });
  const developer = fake.addUser({ username: "dev" });
  const group = fake.addGroup({ path: "platform" });
  const clusters = fake.addProject({ path: "clusters", groupId: group.id, defaultBranch: "main" });
  const apps = fake.addProject({ path: "apps", groupId: group.id, defaultBranch: "main" });
  fake.setMember({ groupId: group.id }, maintainer.id, AccessLevel.MAINTAINER);
  fake.setMember({ projectId: clusters.id }, developer.id, AccessLevel.DEVELOPER);
  return {
    fake,
    clustersId: clusters.id,
    appsId: apps.id,
    groupId: group.id,
    maintainerToken: fake.addToken({ userId: maintainer.id, scopes: ["api"], name: "platform" }).token,
    developerToken: fake.addToken({ userId: developer.id, scopes: ["api"], name: "dev" }).token,
    readOnlyToken: fake.addToken({ userId: maintainer.id, scopes: ["read_api"], name: "ro" }).token,
    jobToken: fake.addJobToken({ userId: maintainer.id, projectId: clusters.id }).token,
  };
}

/** A self-managed Enterprise Edition 18.5.1 with KAS at wss://kas.gitlab.example.com (the agent tests' GitLab). */
export function selfManagedEeWorld(): Promise<GitlabWorld> {
  return gitlabWorld({
    instance: {
      version: "18.5.1-ee",
      kas: { version: "18.5.1", externalUrl: "wss://kas.gitlab.example.com" },
    },
  });
}

export interface ConsumerWorld {
  fake: FakeGitlab;
  /** The bot user behind the token (Maintainer of the project). */
  botId: number;
  projectId: number;
  /** `api`-scoped token of the bot: what GITLAB_EKS_TOKEN holds in a consumer's pipeline. */
  token: string;
  /** An open merge request feature -> main, authored by the bot. */
  mrIid: number;
}

/**
 * The GitLab side of a consumer of the CI/CD component: project `infra-live` owned by a bot that is its
 * Maintainer, the bot's `api` token, and one open merge request into main.
 */
export async function consumerWorld(options: { token?: string } = {}): Promise<ConsumerWorld> {
  const fake = await startFakeGitlab();
  const bot = fake.addUser({ username: "infra-bot", bot: true });
  const project = fake.addProject({
    path: "infra-live",
    ownerUserId: bot.id,
    members: { [bot.id]: AccessLevel.MAINTAINER },
  });
  const token = fake.addToken({ userId: bot.id, scopes: ["api"], token: options.token }).token;
  const mrIid = fake.addMergeRequest({
    projectId: project.id,
    sourceBranch: "feature",
    targetBranch: "main",
    title: "t",
    authorId: bot.id,
  }).iid;
  return { fake, botId: bot.id, projectId: project.id, token, mrIid };
}
