/**
 * `gitlab-eks ci job`: the job's settings read from its variables, and the ONE masking function for
 * everything that leaves the helper. The job run step by step is in test/ci-job.test.ts.
 */
import assert from "node:assert/strict";
import { jobSecrets, maskText } from "../infra/ci/mask";
import { configuredTokenVariables, maskingProblems } from "../infra/ci/io";
import { ConfigError } from "../infra/config/problems";
import { pulumiArgs, readJobSettings, stackSelectArgs, type JobName } from "../infra/ci/settings";
import { renderPreviewNote } from "../infra/ci/render";
import type { PreviewDigest } from "../infra/ci/preview";
import {
  AGENT,
  AWS_KEY,
  consumerDir,
  BOT_TOKEN,
  DEPLOY,
  GITLAB_TOKEN,
  ID_TOKEN,
  PAT,
  RUNNER,
  TEMPLATE_VARS,
} from "./support/ci-job";

describe("gitlab-eks ci job: settings from the job's variables", () => {
  it("every missing variable and bad boolean is reported at once, named by its input", () => {
    const { problems } = readJobSettings("preview", {
      GITLAB_EKS_EXPECT_NO_CHANGES: "yes",
      GITLAB_EKS_AWS_ROLE_ARN: "arn:aws:iam::111122223333:role/ro",
    });
    assert.deepEqual(
      problems.map((p) => p.key),
      [
        "GITLAB_EKS_STACK",
        "GITLAB_EKS_TOKEN_VARIABLE",
        "GITLAB_EKS_REFRESH",
        "inputs.expect_no_changes",
        "inputs.aws_role_arn",
      ],
    );
    assert.match(problems[0].message, /sets it from inputs\.stack\. Fix: include the component/);
  });

  it("pulumi's arguments come from the job's variables, as an array", () => {
    const { settings } = readJobSettings("preview", {
      ...TEMPLATE_VARS.preview,
      GITLAB_EKS_STACK: "acme/infra/dev",
      GITLAB_EKS_EXPECT_NO_CHANGES: "true",
      GITLAB_EKS_REFRESH: "true",
      GITLAB_EKS_POLICY_PACKS: " policies/tags  policies/a b ",
      GITLAB_EKS_SECRETS_PROVIDER: "awskms://alias/pulumi",
    });
    assert.deepEqual(pulumiArgs(settings), [
      "preview",
      "--non-interactive",
      "--stack",
      "acme/infra/dev",
      "--json",
      "--expect-no-changes",
      "--refresh",
      "--policy-pack",
      "policies/tags",
      "--policy-pack",
      "policies/a",
      "--policy-pack",
      "b",
    ]);
    assert.deepEqual(stackSelectArgs(settings), [
      "stack",
      "select",
      "acme/infra/dev",
      "--create",
      "--secrets-provider",
      "awskms://alias/pulumi",
    ]);
    const of = (name: JobName) =>
      pulumiArgs(readJobSettings(name, { ...TEMPLATE_VARS[name], GITLAB_EKS_STACK: "dev" }).settings).join(
        " ",
      );
    assert.equal(of("up"), "up --yes --non-interactive --skip-preview --stack dev");
    assert.equal(of("destroy"), "destroy --yes --non-interactive --skip-preview --stack dev");
    assert.equal(of("drift"), "preview --non-interactive --refresh --expect-no-changes --stack dev --json");
    assert.equal(of("promote"), "preview --non-interactive --stack dev --json");
  });
});

describe("gitlab-eks ci: ONE masking function for everything that leaves the helper", () => {
  it("masks token shapes (glpat-, glrt-, glagent-, gldt-, AWS key ids, JWTs) and the job's secret values", () => {
    const line = `a ${PAT} b ${RUNNER} c ${AGENT} d ${DEPLOY} e ${AWS_KEY} f ${ID_TOKEN} g ${GITLAB_TOKEN}`;
    assert.equal(
      maskText(line, [GITLAB_TOKEN]),
      "a [secret] b [secret] c [secret] d [secret] e [secret] f [secret] g [secret]",
    );
  });

  it("the job's secrets: GITLAB_TOKEN, the token variables named, anything named like a secret; not names of variables", () => {
    const secrets = jobSecrets(
      {
        GITLAB_TOKEN,
        INFRA_GITLAB: BOT_TOKEN,
        DB_PASSWORD: "correct-horse-battery",
        GITLAB_EKS_TOKEN_VARIABLE: "GITLAB_EKS_TOKEN",
        PULUMI_CONFIG_PASSPHRASE_FILE: "/tmp/passphrase-file",
        GITLAB_EKS_EXPECT_NO_CHANGES: "true",
        SHORT_TOKEN: "abc",
      },
      ["INFRA_GITLAB"],
    );
    assert.deepEqual(secrets.sort(), [BOT_TOKEN, "correct-horse-battery", GITLAB_TOKEN].sort());
  });

  it("problems and unexpected errors a step throws come out masked too", async () => {
    const mask = (t: string) => maskText(t, [GITLAB_TOKEN]);
    await assert.rejects(
      maskingProblems(mask, () => {
        throw new ConfigError([{ key: "GitLab API", message: `refused ${GITLAB_TOKEN}` }]);
      }),
      (e: ConfigError) => e.problems[0].message === "refused [secret]",
    );
    await assert.rejects(
      maskingProblems(mask, async () => {
        throw new Error(`GET https://gitlab.example.com/api/v4/user?private_token=${PAT}`);
      }),
      (e: Error) => e.message.endsWith("private_token=[secret]") && !(e.stack ?? "").includes(PAT),
    );
  });

  it("reads the token variable a stack's configuration names", () => {
    const dir = consumerDir();
    assert.deepEqual(configuredTokenVariables(dir, "dev"), ["INFRA_GITLAB"]);
    assert.deepEqual(configuredTokenVariables(dir, "acme/infra/dev"), ["INFRA_GITLAB"]);
    assert.deepEqual(configuredTokenVariables(dir, "missing"), []);
  });

  it('a diff block never shows a token held in a plain input: {"GITLAB_TOKEN":"glpat-…"} (seen in the wild)', () => {
    const urn = "urn:pulumi:dev::p::aws:lambda/function:Function::hook";
    const digest: PreviewDigest = {
      steps: [
        {
          op: "update",
          urn,
          oldState: { urn, inputs: { environment: { variables: { GITLAB_TOKEN: PAT } } } },
          newState: {
            urn,
            inputs: { environment: { variables: { GITLAB_TOKEN: GITLAB_TOKEN, KEY: AWS_KEY } } },
          },
          diffReasons: ["environment"],
          detailedDiff: { "environment.variables.GITLAB_TOKEN": { kind: "update", inputDiff: true } },
        },
      ],
      changeSummary: { update: 1 },
    };
    const note = renderPreviewNote(digest, { stack: "dev", secrets: [GITLAB_TOKEN] });
    for (const secret of [PAT, GITLAB_TOKEN, AWS_KEY]) assert.ok(!note.includes(secret), note);
    assert.match(
      note,
      /^~ {5}environment: \{"variables":\{"GITLAB_TOKEN":"\[secret\]"\}\} => \{"variables":\{"GITLAB_TOKEN":"\[secret\]","KEY":"\[secret\]"\}\}$/m,
    );
  });

  it("a token cut by the 200-character limit of a diff value is masked before the cut, never half shown", () => {
    const urn = "urn:pulumi:dev::p::aws:ssm/parameter:Parameter::p";
    const value = `${"x".repeat(190)}${PAT}`;
    const note = renderPreviewNote(
      { steps: [{ op: "create", urn, newState: { urn, inputs: { value } } }], changeSummary: { create: 1 } },
      { stack: "dev" },
    );
    assert.ok(!note.includes(PAT.slice(0, 12)), "no part of the token");
  });
});
