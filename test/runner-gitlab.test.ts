/**
 * The runner dynamic provider against the fake GitLab server over HTTP, with the real gitbeaker client:
 * created once, unchanged on re-run, updated in place or replaced, deleted on destroy, clear 403s.
 */
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { gitlabRunnerProvider } from "../infra/cloud/gitlab/runnerResource";
import { AccessLevel, startFakeGitlab } from "./support/fake-gitlab";
import type { FakeGitlab } from "./support/fake-gitlab";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireFromString = require("require-from-string") as (code: string) => {
  handler: () => pulumi.dynamic.ResourceProvider;
};

const TOKEN_VAR = "GITLAB_EKS_RUNNER_TEST_TOKEN";
type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type GitlabRunnerInputs = Props;
type GitlabRunnerOutputs = Props;

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.fail("expected a failure");
}

/**
 * Pulumi runs a dynamic provider only in its serialized form (loaded from the state by the dynamic-provider
 * host), so every scenario runs against both the provider object and the provider as Pulumi loads it.
 */
for (const form of ["in process", "serialized, as Pulumi's dynamic-provider host loads it"])
  describe(`GitLab runner resource (dynamic provider, ${form}) against the fake GitLab`, function () {
    let fake: FakeGitlab;
    let tokens: Record<"owner" | "createOnly" | "readApi" | "admin", string>;
    let provider: Required<pulumi.dynamic.ResourceProvider>;
    let inputs: GitlabRunnerInputs;
    let groupId: number;

    before(async function () {
      provider = (
        form === "in process"
          ? gitlabRunnerProvider
          : requireFromString(
              (await pulumi.runtime.serializeFunction(() => gitlabRunnerProvider, { allowSecrets: false }))
                .text,
            ).handler()
      ) as Required<pulumi.dynamic.ResourceProvider>;
    });

    before(async function () {
      fake = await startFakeGitlab();
      const owner = fake.addUser({ username: "owner" });
      const root = fake.addUser({ username: "root", isAdmin: true });
      const platform = fake.addGroup({ path: "platform", members: { [owner.id]: AccessLevel.OWNER } });
      fake.addProject({ path: "ci", groupId: platform.id });
      groupId = platform.id;
      tokens = {
        owner: fake.addToken({ userId: owner.id, scopes: ["api"] }).token,
        createOnly: fake.addToken({ userId: owner.id, scopes: ["create_runner"] }).token,
        readApi: fake.addToken({ userId: owner.id, scopes: ["read_api"] }).token,
        admin: fake.addToken({ userId: root.id, scopes: ["api"] }).token,
      };
      inputs = {
        target: { url: fake.url, tokenVariable: TOKEN_VAR },
        runnerType: "group_type",
        group: "platform",
        description: "gitlab-eks-dev (gitlab-eks)",
        tags: ["eks", "dev"],
        runUntagged: false,
        locked: false,
        accessLevel: "not_protected",
        maximumTimeout: 3600,
        paused: false,
      };
    });
    after(async () => {
      delete process.env[TOKEN_VAR];
      await fake.close();
    });
    beforeEach(() => {
      process.env[TOKEN_VAR] = tokens.owner;
      fake.clearRequests();
    });

    describe("lifecycle", function () {
      let outs: GitlabRunnerOutputs;
      let id: string;

      it("creates the runner once, with its settings, and returns its glrt- token", async function () {
        const created = await provider.create(inputs);
        ({ id, outs } = created as { id: string; outs: GitlabRunnerOutputs });
        assert.equal(fake.state.runners.length, 1);
        const r = fake.state.runners[0];
        assert.equal(String(r.id), id);
        assert.equal(r.runnerType, "group_type");
        assert.equal(r.groupId, fake.state.groups.find((g) => g.path === "platform")!.id);
        assert.deepEqual(r.tagList, ["eks", "dev"]);
        assert.equal(r.runUntagged, false);
        assert.equal(r.maximumTimeout, 3600);
        assert.equal(r.description, "gitlab-eks-dev (gitlab-eks)");
        assert.match(outs.token, /^glrt-/);
        assert.equal(outs.token, r.token);
        assert.equal(fake.countMutatingRequests(), 1);
      });

      it("changes nothing on a re-run with the same settings (no duplicate runner)", async function () {
        const diff = await provider.diff(id, outs, { ...inputs });
        assert.equal(diff.changes, false);
        assert.deepEqual(diff.replaces, []);
        assert.equal(fake.countMutatingRequests(), 0);
        assert.equal(fake.state.runners.length, 1);
      });

      it("updates description, tags and paused in place, keeping the runner and its token", async function () {
        const news = { ...inputs, description: "renamed", tags: ["eks"], paused: true };
        const diff = await provider.diff(id, outs, news);
        assert.equal(diff.changes, true);
        assert.deepEqual(diff.replaces, []);
        const updated = await provider.update(id, outs, news);
        assert.equal(updated.outs!.token, outs.token);
        assert.equal(updated.outs!.runnerId, outs.runnerId);
        const r = fake.state.runners[0];
        assert.equal(r.description, "renamed");
        assert.deepEqual(r.tagList, ["eks"]);
        assert.equal(r.paused, true);
        assert.equal(fake.state.runners.length, 1);
        outs = updated.outs as GitlabRunnerOutputs;
      });

      it("asks for a replacement when the group, project, type or GitLab instance changes", async function () {
        for (const [k, v] of [
          ["group", "other"],
          ["runnerType", "instance_type"],
          ["target", { url: "https://gitlab.example.com", tokenVariable: TOKEN_VAR }],
          ["project", "platform/ci"],
        ] as const) {
          const diff = await provider.diff(id, outs, { ...inputs, [k]: v });
          assert.deepEqual(diff.replaces, [k]);
        }
      });

      it("keeps the runner when only the token's variable name changes, and replaces it to clear the timeout", async function () {
        const renamed = await provider.diff(id, outs, {
          ...inputs,
          target: { url: fake.url, tokenVariable: "OTHER" },
        });
        assert.equal(renamed.changes, true);
        assert.deepEqual(renamed.replaces, []);
        const cleared = await provider.diff(id, outs, { ...inputs, maximumTimeout: undefined });
        assert.deepEqual(cleared.replaces, ["maximumTimeout"]);
      });

      it("reads it back for refresh, and deletes it on destroy (a second delete is a no-op)", async function () {
        assert.deepEqual((await provider.read(id, outs)).id, id);
        await provider.delete(id, outs);
        assert.equal(fake.state.runners.length, 0);
        await provider.delete(id, outs);
        assert.equal((await provider.read(id, outs)).id, "");
      });
    });

    it("creates a project runner from the project path", async function () {
      const { outs } = await provider.create({
        ...inputs,
        runnerType: "project_type",
        group: undefined,
        project: "platform/ci",
      });
      const r = fake.state.runners.find((x) => x.id === outs!.runnerId)!;
      assert.equal(r.runnerType, "project_type");
      assert.deepEqual(r.projectIds, [fake.state.projects.find((p) => p.path === "ci")!.id]);
      await provider.delete(String(outs!.runnerId), outs as GitlabRunnerOutputs);
    });

    describe("refusals, with nothing created", function () {
      afterEach(() => assert.equal(fake.state.runners.length, 0));

      it("instance_type without an admin token: 403 naming the administrator requirement", async function () {
        const e = await rejection(
          provider.create({ ...inputs, runnerType: "instance_type", group: undefined }),
        );
        assert.match(
          e.message,
          /Cannot create a instance_type runner for the whole instance: GitLab refused \(403/,
        );
        assert.match(e.message, /administrator/);
        assert.match(e.message, /create_runner scope/);
        assert.doesNotMatch(e.message, new RegExp(tokens.owner));
      });

      it("a token without the create_runner scope: says which scope is missing", async function () {
        process.env[TOKEN_VAR] = tokens.readApi;
        const e = await rejection(provider.create(inputs));
        assert.match(e.message, /lacks the create_runner scope/);
        assert.match(e.message, new RegExp(TOKEN_VAR));
      });

      it("no token in the environment: says which variable to set", async function () {
        delete process.env[TOKEN_VAR];
        const e = await rejection(provider.create(inputs));
        assert.match(e.message, new RegExp(`in the ${TOKEN_VAR} environment variable`));
      });

      it("settings GitLab rejects: passes GitLab's reason on", async function () {
        const e = await rejection(provider.create({ ...inputs, tags: [], runUntagged: false }));
        assert.match(e.message, /GitLab answered 400: .*Tags list can not be empty/);
      });

      it("a group the token cannot see: 404 with the path", async function () {
        const e = await rejection(provider.create({ ...inputs, group: "nope" }));
        assert.match(e.message, /group nope was not found \(404\)/);
      });
    });

    it("a create_runner-only token creates with a numeric group id, but deleting needs manage_runner", async function () {
      process.env[TOKEN_VAR] = tokens.createOnly;
      const { id, outs } = await provider.create({ ...inputs, group: String(groupId) });
      const e = await rejection(provider.delete(id, outs as GitlabRunnerOutputs));
      assert.match(e.message, /lacks the manage_runner scope/);
      process.env[TOKEN_VAR] = tokens.owner;
      await provider.delete(id, outs as GitlabRunnerOutputs);
      assert.equal(fake.state.runners.length, 0);
    });

    describe("ownership: the stack's marker in the description", function () {
      const owner = "infra-live/dev";
      afterEach(() => {
        fake.clearFaults();
        fake.state.runners = [];
      });

      it("finds the runner of a create whose answer was lost (by its marker), deletes it, creates one", async function () {
        const foreign = fake.addRunner({ runnerType: "group_type", groupId, description: "someone's" });
        fake.failAfterApplying({ method: "POST", pathPattern: /\/user\/runners$/, status: 502, times: 2 });
        const e = await rejection(provider.create({ ...inputs, owner }));
        assert.match(e.message, /Not resent: GitLab may have carried it out/);
        assert.equal(
          fake.state.runners.length,
          2,
          "the first orphan was deleted before the second create; the second is left, with the foreign runner",
        );
        const { id, outs } = await provider.create({ ...inputs, owner });
        assert.deepEqual(
          fake.state.runners.map((r) => r.id),
          [foreign.id, Number(id)],
          "the orphans are gone, the foreign runner stays",
        );
        const mine = fake.state.runners.find((r) => r.id === Number(id))!;
        assert.match(
          mine.description,
          /^gitlab-eks-dev \(gitlab-eks\) \[gitlab-eks:infra-live\/dev\] #[0-9a-f]{8}$/,
        );
        assert.equal(mine.token, outs!.token);
        // An orphan appearing later (a lost create in another run): destroy deletes every runner of the stack.
        fake.addRunner({ runnerType: "group_type", groupId, description: mine.description });
        await provider.delete(id, outs as GitlabRunnerOutputs);
        assert.deepEqual(
          fake.state.runners.map((r) => r.id),
          [foreign.id],
        );
      });

      it("a replacement carries another marker, so neither mistakes the other for an orphan", async function () {
        const old = await provider.create({ ...inputs, owner });
        const next = await provider.create({ ...inputs, owner, maximumTimeout: undefined });
        assert.notEqual(old.outs!.marker, next.outs!.marker);
        assert.equal(fake.state.runners.length, 2, "the old runner stays until Pulumi deletes it");
        await provider.delete(old.id, old.outs as GitlabRunnerOutputs);
        assert.deepEqual(
          fake.state.runners.map((r) => String(r.id)),
          [next.id],
        );
      });

      it("a create_runner-only token: a lost create is not resent, and the error says what to delete", async function () {
        process.env[TOKEN_VAR] = tokens.createOnly;
        fake.loseAnswer({ method: "POST", pathPattern: /\/user\/runners$/ });
        const e = await rejection(provider.create({ ...inputs, group: String(groupId), owner }));
        assert.match(
          e.message,
          /cannot list the runners of group \d+ .*Delete a runner described "gitlab-eks-dev/,
        );
        assert.equal(fake.state.runners.length, 1);
        assert.doesNotMatch(e.message, /glrt-/);
      });
    });

    it("is serialized without any token", async function () {
      const { text } = await pulumi.runtime.serializeFunction(() => gitlabRunnerProvider, {
        allowSecrets: false,
      });
      for (const t of Object.values(tokens)) assert.ok(!text.includes(t), "a token in the provider");
      assert.ok(!/glrt-|glpat-/.test(text));
    });

    it("a create_runner-only token cannot look a group up by path: says so, and how to avoid it", async function () {
      process.env[TOKEN_VAR] = tokens.createOnly;
      const e = await rejection(provider.create(inputs));
      assert.match(e.message, /lacks the read_api scope/);
      assert.match(e.message, /numeric id in gitlab-eks:runner.group/);
      assert.equal(fake.state.runners.length, 0);
    });
  });
