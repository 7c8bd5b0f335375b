/**
 * The world of the fake GitLab's own tests (test/fake-gitlab-*.test.ts), driven by the real
 * @gitbeaker/rest: one fake for a whole file (the tests of a file build on each other's objects, in
 * order), an administrator, a group Owner, a developer and an outsider, the project
 * platform/infra/agents, and tokens of each scope that matters.
 */
import * as assert from "node:assert/strict";
import { GitbeakerRequestError } from "@gitbeaker/rest";
import { AccessLevel, startFakeGitlab } from "./fake-gitlab";
import type { FakeGitlab, FakeProject, FakeUser } from "./fake-gitlab";

export const SUITE_PATH = "platform/infra/agents";

export interface FakeSuite {
  fake: FakeGitlab;
  admin: FakeUser;
  maint: FakeUser;
  dev: FakeUser;
  outsider: FakeUser;
  /** platform/infra/agents */
  project: FakeProject;
  tokens: Record<
    | "admin"
    | "maintApi"
    | "maintReadApi"
    | "maintCreateRunner"
    | "maintManageRunner"
    | "devApi"
    | "outsiderApi",
    string
  >;
  jobToken: string;
}

/** Registers the hooks: the fake started before the file's tests, closed after; faults cleared after each. */
export function fakeSuite(): FakeSuite {
  const t = {} as FakeSuite;
  before(async function () {
    const fake = await startFakeGitlab({
      instance: { version: "17.6.2-ee", kas: { version: "17.6.2", externalUrl: "wss://kas.example.test" } },
    });
    const admin = fake.addUser({ username: "root", isAdmin: true });
    const maint = fake.addUser({ username: "maint" });
    const dev = fake.addUser({ username: "dev" });
    const outsider = fake.addUser({ username: "outsider" });
    const platform = fake.addGroup({ path: "platform", members: { [maint.id]: AccessLevel.OWNER } });
    const infra = fake.addGroup({ path: "infra", parentId: platform.id });
    const project = fake.addProject({
      path: "agents",
      groupId: infra.id,
      members: { [dev.id]: AccessLevel.DEVELOPER },
    });
    Object.assign(t, {
      fake,
      admin,
      maint,
      dev,
      outsider,
      project,
      tokens: {
        admin: fake.addToken({ userId: admin.id, scopes: ["api"] }).token,
        maintApi: fake.addToken({ userId: maint.id, scopes: ["api"], name: "ci", expiresAt: "2099-01-31" })
          .token,
        maintReadApi: fake.addToken({ userId: maint.id, scopes: ["read_api"] }).token,
        maintCreateRunner: fake.addToken({ userId: maint.id, scopes: ["create_runner"] }).token,
        maintManageRunner: fake.addToken({ userId: maint.id, scopes: ["manage_runner"] }).token,
        devApi: fake.addToken({ userId: dev.id, scopes: ["api"] }).token,
        outsiderApi: fake.addToken({ userId: outsider.id, scopes: ["api"] }).token,
      },
      jobToken: fake.addJobToken({ userId: dev.id, projectId: project.id }).token,
    });
  });
  after(async function () {
    await t.fake.close();
  });
  afterEach(function () {
    t.fake.clearFaults();
  });
  return t;
}

/** Awaits `p`, expecting gitbeaker to throw an HTTP error; returns it. */
export async function httpError(p: Promise<unknown>): Promise<GitbeakerRequestError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof GitbeakerRequestError, `expected GitbeakerRequestError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected the request to fail");
}

export function statusOf(err: GitbeakerRequestError): number | undefined {
  return err.cause?.response.status;
}
