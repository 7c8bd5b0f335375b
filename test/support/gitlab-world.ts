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
