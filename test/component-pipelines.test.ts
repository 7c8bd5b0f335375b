/**
 * The CI/CD component as a consumer project uses it: the fixture includes `pipeline` three times (dev,
 * staging, production), gitlab-ci-local evaluates the pipelines GitLab would create and runs the jobs with
 * the shell executor, a stand-in `pulumi` (test/fixtures/bin/pulumi, replaying Pulumi's JSON) and the fake
 * GitLab API. gitlab-ci-local is slow (about 1.5 s a run on an idle machine, many times that on a busy
 * one), so each scenario runs once in a `before` and its assertions share the result; independent jobs
 * run at the same time, and each suite's timeout is sized from the runs it makes (gclTimeout), never a
 * fixed figure a loaded machine can miss.
 *
 * This file: the pipelines a consumer gets (gitlab-ci-local --list-json). Jobs run: component-jobs;
 * preview options and a failed preview: component-preview-options.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { consumerRepo, expandedConfig, gcl, gclTimeout, type ConsumerRepo } from "./support/gcl";
import { mr, push, SOURCE_SHA } from "./support/component";

interface ListedJob {
  name: string;
  stage: string;
  when: string;
  allow_failure: boolean;
  needs?: { job: string }[];
}

async function listJobs(repo: ConsumerRepo, variables: Record<string, string>): Promise<ListedJob[]> {
  const r = await gcl(repo, ["--list-json"], variables);
  assert.equal(r.code, 0, r.stderr);
  const jobs = JSON.parse(r.stdout.slice(r.stdout.indexOf("["))) as ListedJob[];
  return jobs.filter((j) => j.when !== "never");
}

const brief = (jobs: ListedJob[]) =>
  jobs.map(
    (j) =>
      `${j.name} ${j.stage} ${j.when}${j.needs?.length ? ` needs=${j.needs.map((n) => n.job).join(",")}` : ""}`,
  );

describe("CI/CD component: pipelines a consumer gets (gitlab-ci-local --list-json)", function () {
  this.timeout(gclTimeout(11));
  const lists: Record<string, ListedJob[]> = {};
  let expanded: Record<string, Record<string, unknown>>;

  before(async () => {
    const pipelines: [string, Record<string, string>][] = [
      ...["main", "staging", "production"].map((b): [string, Record<string, string>] => [`mr:${b}`, mr(b)]),
      ...["main", "staging", "production"].map((b): [string, Record<string, string>] => [
        `push:${b}`,
        push(b),
      ]),
      ["schedule", { CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_BRANCH: "main" }],
      // A merged-results pipeline: still a merge_request_event, on the merge commit of source and target.
      ...["main", "production"].map((b): [string, Record<string, string>] => [
        `merged:${b}`,
        {
          ...mr(b),
          CI_MERGE_REQUEST_EVENT_TYPE: "merged_result",
          CI_MERGE_REQUEST_SOURCE_BRANCH_SHA: SOURCE_SHA,
        },
      ]),
    ];
    // Listings are independent: three at a time, each in its own copy of the repository (gitlab-ci-local
    // writes its state into the folder it runs in).
    const repos = [0, 1, 2].map(() => consumerRepo("consumer"));
    await Promise.all(
      repos.map(async (repo, r) => {
        for (const [key, vars] of pipelines.filter((_, i) => i % repos.length === r))
          lists[key] = await listJobs(repo, vars);
      }),
    );
    expanded = parse(expandedConfig(repos[0]));
  });

  it("a merge request into each deploy branch previews exactly that branch's stack", () => {
    assert.deepEqual(brief(lists["mr:main"]), ["dev:preview test on_success"]);
    assert.deepEqual(brief(lists["mr:staging"]), ["staging:preview test on_success"]);
    assert.deepEqual(brief(lists["mr:production"]), ["production:preview test on_success"]);
  });

  it("a merged-results pipeline previews exactly like a merge request pipeline, and deploys nothing", () => {
    assert.deepEqual(brief(lists["merged:main"]), brief(lists["mr:main"]));
    assert.deepEqual(brief(lists["merged:production"]), brief(lists["mr:production"]));
  });

  it("a push to each deploy branch runs up, then promotes to the next branch; production is manual and last", () => {
    assert.deepEqual(brief(lists["push:main"]), [
      "dev:up deploy on_success",
      "dev:promote deploy on_success needs=dev:up",
    ]);
    assert.deepEqual(brief(lists["push:staging"]), [
      "staging:up deploy on_success",
      "staging:promote deploy on_success needs=staging:up",
    ]);
    assert.deepEqual(brief(lists["push:production"]), ["production:up deploy manual"]);
    const up = lists["push:production"][0];
    assert.equal(up.allow_failure, false, "a manual production up blocks the pipeline until someone runs it");
  });

  it("a schedule runs drift detection for every stack and nothing else", () => {
    assert.deepEqual(brief(lists.schedule), [
      "dev:drift test on_success",
      "staging:drift test on_success",
      "production:drift test on_success",
    ]);
  });

  it("up and destroy are one environment per stack, serialised by one resource group per stack", () => {
    for (const [stack, tier] of [
      ["dev", "development"],
      ["staging", "staging"],
      ["production", "production"],
    ]) {
      const up = expanded[`${stack}:up`];
      assert.deepEqual(up.environment, {
        name: stack,
        deployment_tier: tier,
        action: "start",
        url: "$ENVIRONMENT_URL",
        on_stop: `${stack}:destroy`,
      });
      assert.equal(up.resource_group, `pulumi/${stack}`);
      const destroy = expanded[`${stack}:destroy`];
      assert.deepEqual(destroy.environment, { name: stack, action: "stop" });
      assert.equal(destroy.resource_group, `pulumi/${stack}`);
      assert.deepEqual((up.artifacts as { reports: unknown }).reports, { dotenv: "pulumi.env" });
      const preview = expanded[`${stack}:preview`];
      assert.deepEqual((preview.artifacts as { reports: unknown }).reports, {
        terraform: "pulumi-report.json",
      });
      assert.equal((preview.artifacts as { name: string }).name, stack, "one widget entry per stack");
    }
  });

  it("preview and drift use the read-only role, up and destroy the deploy role, each through an OIDC ID token", () => {
    const vars = (job: string) => expanded[job].variables as Record<string, string>;
    for (const job of ["dev:preview", "dev:drift", "dev:promote"])
      assert.equal(vars(job).GITLAB_EKS_AWS_ROLE_ARN, "arn:aws:iam::111122223333:role/pulumi-preview", job);
    for (const job of ["dev:up", "dev:destroy"])
      assert.equal(
        vars(job).GITLAB_EKS_AWS_ROLE_ARN,
        "arn:aws:iam::111122223333:role/pulumi-deploy-dev",
        job,
      );
    assert.deepEqual(expanded["dev:up"].id_tokens, { GITLAB_EKS_ID_TOKEN: { aud: "sts.amazonaws.com" } });
  });

  it("caches npm and Pulumi plugins keyed on the Pulumi project's lockfile", () => {
    const [cache] = expanded["dev:preview"].cache as Record<string, unknown>[];
    assert.deepEqual(cache.key, { prefix: "gitlab-eks", files: ["./package-lock.json"] });
    assert.deepEqual(cache.paths, [".npm/", ".pulumi-home/plugins/"]);
  });
});
