/**
 * The components as files: CI/CD Catalog rules, GitLab's CI JSON schema, input validation (`options`
 * through gitlab-ci-local, `regex` here since gitlab-ci-local 4.65 does not check it), and this
 * repository's own .gitlab-ci.yml and integration child pipelines through gitlab-ci-local.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { ROOT } from "./support/cli";
import { consumerRepo, expandedConfig, gcl, gclTimeout, jobContracts } from "./support/gcl";

interface InputSpec {
  description?: string;
  type?: string;
  default?: unknown;
  options?: string[];
  regex?: string;
}

const TEMPLATES = fs
  .readdirSync(path.join(ROOT, "templates"))
  .filter((f) => f.endsWith(".yml"))
  .sort();

function load(name: string): {
  header: { spec: { inputs: Record<string, InputSpec> } };
  body: Record<string, unknown>;
} {
  const docs = parseAllDocuments(fs.readFileSync(path.join(ROOT, "templates", name), "utf8"));
  assert.equal(docs.length, 2, `${name}: a spec header and the configuration, separated by ---`);
  for (const d of docs) assert.deepEqual(d.errors, [], name);
  return { header: docs[0].toJS(), body: docs[1].toJS() };
}

function schemaErrors(docs: { name: string; doc: unknown }[]): { name: string; errors: string[] }[] {
  const r = spawnSync(process.execPath, [path.join(ROOT, "test", "support", "ci-schema.mjs")], {
    input: JSON.stringify(docs),
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** GitLab checks `regex` with RE2; these patterns use only the part of RE2 that JavaScript shares. */
const matches = (spec: InputSpec, value: string) => new RegExp(spec.regex as string).test(value);

describe("templates: CI/CD Catalog rules and GitLab's CI schema", () => {
  it("has the six components", () => {
    assert.deepEqual(TEMPLATES, [
      "destroy.yml",
      "drift.yml",
      "pipeline.yml",
      "preview.yml",
      "promote.yml",
      "up.yml",
    ]);
  });

  it("every spec header is valid against GitLab's CI JSON schema", () => {
    const results = schemaErrors(TEMPLATES.map((name) => ({ name, doc: load(name).header })));
    assert.deepEqual(
      results,
      TEMPLATES.map((name) => ({ name, errors: [] })),
    );
  });

  it("the schema check can fail (an input type GitLab does not know)", () => {
    const [r] = schemaErrors([
      { name: "bad", doc: { spec: { inputs: { x: { description: "x", type: "strin" } } } } },
    ]);
    assert.notDeepEqual(r.errors, []);
  });

  for (const name of TEMPLATES) {
    it(`${name}: every input has a description; defaults satisfy their own regex and options`, () => {
      const { inputs } = load(name).header.spec;
      for (const [key, spec] of Object.entries(inputs)) {
        assert.ok(spec.description && spec.description.length > 10, `${name}: ${key} has no description`);
        if (spec.regex && typeof spec.default === "string" && !spec.default.startsWith("$"))
          assert.ok(matches(spec, spec.default), `${name}: ${key}'s default fails its regex`);
        if (spec.options)
          assert.ok(spec.default === undefined || spec.options.includes(spec.default as string));
      }
    });

    it(`${name}: no global keywords; job names and stages come from inputs`, () => {
      const { body } = load(name);
      const globals = [
        "default",
        "stages",
        "variables",
        "workflow",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
      ];
      assert.deepEqual(
        Object.keys(body).filter((k) => globals.includes(k)),
        [],
      );
      const jobs = Object.entries(body).filter(([k]) => k !== "include");
      assert.ok(jobs.length >= 1);
      for (const [job, def] of jobs) {
        assert.match(job, /\$\[\[ inputs\.(as|job_prefix) \]\]/, `${name}: job ${job}`);
        const stage = (def as { stage?: string }).stage;
        if (stage !== undefined) assert.match(stage, /^\$\[\[ inputs\.stage(_\w+)? \]\]$/);
      }
    });
  }

  it("regex inputs accept what the README and fixtures use and refuse what would break a job", () => {
    const { inputs } = load("pipeline.yml").header.spec;
    const ok: [string, string][] = [
      ["stack", "dev"],
      ["stack", "acme/infra-live/production"],
      ["deploy_branch", "release/2026-11"],
      ["aws_role_arn", "arn:aws:iam::111122223333:role/pulumi-deploy-dev"],
      ["aws_role_arn", ""],
      ["job_prefix", "dev:"],
      ["helper_project", "platform/gitlab-eks"],
      ["helper_version", "1.2.3"],
    ];
    const bad: [string, string][] = [
      ["stack", "dev; curl evil"],
      ["stack", ""],
      ["deploy_branch", "main && rm -rf /"],
      ["aws_role_arn", "arn:aws:iam::1111:role/short-account"],
      ["root_dir", "$(whoami)"],
      ["gitlab_token_variable", "GITLAB-TOKEN"],
      ["helper_version", "latest"],
      ["helper_project", "no-namespace"],
    ];
    for (const [k, v] of ok) assert.ok(matches(inputs[k], v), `${k}=${JSON.stringify(v)} should pass`);
    for (const [k, v] of bad) assert.ok(!matches(inputs[k], v), `${k}=${JSON.stringify(v)} should fail`);
  });

  it("pipeline.yml: every default it passes on to a job template passes that template's regex (GitLab checks it)", () => {
    const pipeline = load("pipeline.yml");
    const outer = pipeline.header.spec.inputs;
    const includes = (pipeline.body as { include: { local: string; inputs: Record<string, unknown> }[] })
      .include;
    const refused: string[] = [];
    for (const { local, inputs } of includes) {
      const inner = load(path.basename(local)).header.spec.inputs;
      for (const [key, value] of Object.entries(inputs)) {
        const from = /^\$\[\[ inputs\.(\w+) \]\]$/.exec(String(value))?.[1];
        const spec = inner[key];
        if (!from || !spec?.regex || outer[from].default === undefined) continue;
        if (!matches(spec, String(outer[from].default)))
          refused.push(
            `${local}: ${key} = pipeline's ${from} default ${JSON.stringify(outer[from].default)}`,
          );
      }
    }
    assert.deepEqual(refused, []);
  });

  it("helper_version defaults to package.json's version in every template (the release pins the helper)", () => {
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version;
    for (const name of TEMPLATES)
      assert.equal(load(name).header.spec.inputs.helper_version.default, version, name);
  });
});

describe("gitlab-ci-local on bad input and on this repository's own pipeline", function () {
  this.timeout(gclTimeout(1));

  it("an input outside its options stops the pipeline with the input's name", async () => {
    const text = fs
      .readFileSync(path.join(ROOT, "test", "fixtures", "consumer", ".gitlab-ci.yml"), "utf8")
      .replace("tier: production", "tier: prod");
    const r = await gcl(consumerRepo("consumer", { gitlabCi: text }), ["--list-json"]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr + r.stdout,
      /`tier` input: `prod` cannot be used because it is not in the list of allowed options/,
    );
  });

  it("a missing required input stops the pipeline with the input's name", async () => {
    const text = fs
      .readFileSync(path.join(ROOT, "test", "fixtures", "consumer", ".gitlab-ci.yml"), "utf8")
      .replace("      environment: staging\n", "");
    const r = await gcl(consumerRepo("consumer", { gitlabCi: text }), ["--list-json"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr + r.stdout, /`environment` input: required value has not been provided/);
  });

  const SELF = [
    ".gitlab-ci.yml",
    "Pulumi.yaml",
    "Pulumi.dev.yaml",
    "Pulumi.staging.yaml",
    "Pulumi.production.yaml",
    "test/integration",
    "test/fixtures",
  ];

  it(".gitlab-ci.yml: schema-valid; a push to main runs lint, test, integration, dev:up and dev:promote", async () => {
    const repo = consumerRepo("", { fromRoot: SELF, projectPath: "platform/gitlab-eks" });
    const r = await gcl(repo, ["--list-json"], { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "main" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /json schema validated/);
    const jobs = (JSON.parse(r.stdout.slice(r.stdout.indexOf("["))) as { name: string; when: string }[])
      .filter((j) => j.when !== "never")
      .map((j) => j.name);
    assert.deepEqual(jobs.sort(), [
      "dev:promote",
      "dev:up",
      "integration: [deploy]",
      "integration: [preview]",
      "lint",
      "test",
    ]);
  });

  it(".gitlab-ci.yml: a semantic-version tag publishes the helper and creates the Catalog release", async () => {
    const repo = consumerRepo("", { fromRoot: SELF, projectPath: "platform/gitlab-eks" });
    const r = await gcl(repo, ["--list-json"], {
      CI_PIPELINE_SOURCE: "push",
      CI_COMMIT_BRANCH: "",
      CI_COMMIT_TAG: "0.1.0",
    });
    assert.equal(r.code, 0, r.stderr);
    const jobs = (JSON.parse(r.stdout.slice(r.stdout.indexOf("["))) as { name: string; when: string }[])
      .filter((j) => j.when !== "never")
      .map((j) => j.name);
    assert.deepEqual(jobs.sort(), ["create-release", "lint", "publish-helper", "test"]);
    const release = parse(
      fs.readFileSync(path.join(repo.dir, ".gitlab-ci-local", "expanded-gitlab-ci.yml"), "utf8"),
    )["create-release"].release;
    assert.equal(release.tag_name, "$CI_COMMIT_TAG");
  });

  for (const child of ["preview", "deploy"])
    it(`integration child pipeline ${child}: schema-valid, includes the component at this commit`, async () => {
      const repo = consumerRepo("", { fromRoot: SELF, projectPath: "platform/gitlab-eks" });
      const r = await gcl(repo, ["--list-json", "--file", `test/integration/${child}.gitlab-ci.yml`]);
      assert.equal(r.code, 0, r.stderr);
      const jobs = (JSON.parse(r.stdout.slice(r.stdout.indexOf("["))) as { name: string }[]).map(
        (j) => j.name,
      );
      assert.deepEqual(
        jobs,
        child === "preview" ? ["it:preview", "it:verify-preview"] : ["it:up", "it:verify-up"],
      );
    });
});

describe("templates: what consumers get stays as it was (gitlab-ci-local expansion)", function () {
  // The expected jobs were captured from the templates before their scripts moved into `gitlab-eks ci
  // job` (test/fixtures/consumer-expanded-jobs.json): inputs, variables, rules, needs, environments,
  // resource groups, caches and artifacts must not change for a consumer whose .gitlab-ci.yml does not.
  this.timeout(gclTimeout(1));
  const expected = JSON.parse(
    fs.readFileSync(path.join(ROOT, "test", "fixtures", "consumer-expanded-jobs.json"), "utf8"),
  ) as Record<string, Record<string, Record<string, unknown>>>;

  for (const fixture of ["consumer", "consumer-templates"])
    it(`${fixture}: every expanded job but its script is what it was`, async () => {
      const repo = consumerRepo(fixture);
      const r = await gcl(repo, ["--list-json"], { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "main" });
      assert.equal(r.code, 0, r.stderr);
      const jobs = jobContracts(expandedConfig(repo));
      assert.deepEqual(Object.keys(jobs).sort(), Object.keys(expected[fixture]).sort());
      for (const [name, job] of Object.entries(expected[fixture])) assert.deepEqual(jobs[name], job, name);
    });
});

describe("templates: the shared bootstrap", () => {
  const JOB_TEMPLATES = TEMPLATES.filter((n) => n !== "pipeline.yml");
  const scripts = () =>
    JOB_TEMPLATES.map((name) => {
      const [job] = Object.values(load(name).body) as { script: string[] }[];
      return { name, script: job.script };
    });

  it("every job template's script is the same bootstrap, then one `gitlab-eks ci job <name>` call", () => {
    const all = scripts();
    for (const { name, script } of all) {
      assert.equal(script.length, 2, `${name}: the bootstrap and one call, nothing else`);
      assert.equal(script[0], all[0].script[0], `${name}: its bootstrap differs from ${all[0].name}'s`);
      assert.equal(script[1], `gitlab-eks ci job ${name.replace(/\.yml$/, "")}`, name);
    }
  });

  it("the bootstrap only installs the pinned helper and puts it on PATH: no pulumi, no job logic", () => {
    const [{ script }] = scripts();
    const boot = script[0];
    assert.match(boot, /packages\/generic\/gitlab-eks\/\$\{GITLAB_EKS_HELPER_VERSION\}/);
    assert.match(boot, /command -v gitlab-eks/);
    assert.ok(!/\bpulumi\b/.test(boot.replace(/^#.*$/gm, "")), "pulumi is the helper's business");
    assert.ok(boot.split("\n").length <= 15, "the smallest bootstrap that installs the helper");
  });
});
