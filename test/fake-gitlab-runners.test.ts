/**
 * The fake GitLab, driven by the real @gitbeaker/rest: runners. The tests of this file share one fake
 * (test/support/fake-gitlab-suite.ts) and build on each other's objects, in order.
 */
import * as assert from "node:assert/strict";
import { Gitlab } from "@gitbeaker/rest";
import { fakeSuite, httpError, statusOf, SUITE_PATH } from "./support/fake-gitlab-suite";

describe("fake GitLab (driven by real @gitbeaker/rest): runners", function () {
  const s = fakeSuite();
  const client = (token: string) => new Gitlab({ host: s.fake.url, token });

  describe("runners", function () {
    it("Users.createCIRunner needs the create_runner (or api) scope", async function () {
      const created = await client(s.tokens.maintCreateRunner).Users.createCIRunner("project_type", {
        projectId: s.project.id,
        description: "eks",
        tagList: ["eks", "prod", "eks", " "],
        runUntagged: false,
        maximumTimeout: 3600,
      });
      assert.match(created.token, /^glrt-t3_/);
      assert.equal(created.token_expires_at, null);
      assert.deepEqual(Object.keys(created).sort(), ["id", "token", "token_expires_at"]);
      assert.deepEqual(s.fake.state.runners.find((r) => r.id === created.id)?.tagList, ["eks", "prod"]);

      const noScope = await httpError(
        client(s.tokens.maintReadApi).Users.createCIRunner("project_type", { projectId: s.project.id }),
      );
      assert.equal(statusOf(noScope), 403);
      assert.equal(noScope.cause?.description, "insufficient_scope");
    });

    it("validates like GitLab: instance_type is admin only, tags vs run_untagged, timeouts", async function () {
      const api = client(s.tokens.maintCreateRunner);
      const inst = await httpError(api.Users.createCIRunner("instance_type"));
      assert.equal(statusOf(inst), 403);
      assert.equal(inst.cause?.description, "403 Forbidden - Insufficient permissions");
      const untagged = await httpError(
        api.Users.createCIRunner("project_type", { projectId: s.project.id, runUntagged: false }),
      );
      assert.equal(statusOf(untagged), 400);
      assert.equal(
        untagged.cause?.description,
        "400 Bad request - Tags list can not be empty when runner is not allowed to pick untagged jobs",
      );
      const both = await httpError(
        api.Users.createCIRunner("project_type", {
          projectId: s.project.id,
          runUntagged: false,
          maximumTimeout: 60,
        }),
      );
      assert.equal(
        both.cause?.description,
        "400 Bad request - Tags list can not be empty when runner is not allowed to pick untagged jobs and Maximum timeout needs to be at least 10 minutes",
      );
      const devErr = await httpError(
        client(s.tokens.devApi).Users.createCIRunner("project_type", { projectId: s.project.id }),
      );
      assert.equal(devErr.cause?.description, "403 Forbidden - Insufficient permissions");
      const instance = await client(s.tokens.admin).Users.createCIRunner("instance_type", {
        tagList: ["shared"],
      });
      assert.match(instance.token, /^glrt-t1_/);
    });

    it("show / all / edit / remove", async function () {
      const created = await client(s.tokens.maintApi).Users.createCIRunner("group_type", {
        groupId: s.project.groupId!,
        tagList: ["group-eks"],
      });
      const manage = client(s.tokens.maintManageRunner);
      const shown = await manage.Runners.show(created.id);
      assert.equal(shown.runner_type, "group_type");
      assert.deepEqual(shown.tag_list, ["group-eks"]);
      const forProject = await client(s.tokens.maintApi).Runners.all({ projectId: SUITE_PATH });
      assert.ok(forProject.some((r) => r.id === created.id));
      const owned = await client(s.tokens.maintApi).Runners.all({ owned: true, tagList: ["group-eks"] });
      assert.deepEqual(
        owned.map((r) => r.id),
        [created.id],
      );
      const edited = await manage.Runners.edit(created.id, { description: "renamed", paused: true });
      assert.equal(edited.description, "renamed");
      assert.equal(edited.paused, true);
      await manage.Runners.remove({ runnerId: created.id });
      assert.equal(statusOf(await httpError(manage.Runners.show(created.id))), 404);
      const jobErr = await httpError(
        new Gitlab({ host: s.fake.url, jobToken: s.jobToken }).Runners.remove({ runnerId: 1 }),
      );
      assert.equal(statusOf(jobErr), 401);
    });
  });
});
