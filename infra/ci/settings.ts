/**
 * A component job's settings, read from the variables its template sets from the inputs
 * (GITLAB_EKS_STACK from inputs.stack, ...). Pure: every problem is collected, named by the input it
 * comes from, so a job reports them all at once before anything runs.
 */
import type { Problem } from "../config/problems";
import { DEFAULT_TOKEN_VARIABLE } from "./io";

export const JOBS = ["preview", "up", "promote", "drift", "destroy"] as const;
export type JobName = (typeof JOBS)[number];

export interface JobSettings {
  job: JobName;
  stack: string;
  rootDir: string;
  /** The backend_url input (GitLab expanded its default `$PULUMI_BACKEND_URL`); empty is a problem. */
  backendUrl: string;
  secretsProvider: string;
  installCommand: string;
  awsRoleArn: string;
  /** Set on jobs that deploy (up, destroy): the branch the stack deploys from. */
  deployBranch?: string;
  tokenVariable: string;
  /** preview */
  expectNoChanges: boolean;
  refresh: boolean;
  policyPacks: string[];
  /** up */
  urlOutput: string;
  /** promote */
  environment: string;
  promoteToBranch: string;
  promoteToStack: string;
  previewTarget: boolean;
  /** drift */
  issueLabel: string;
}

type Env = Record<string, string | undefined>;

/** Which variable each job's template sets (the others are not read). */
const REQUIRED: Record<JobName, string[]> = {
  preview: ["GITLAB_EKS_TOKEN_VARIABLE", "GITLAB_EKS_EXPECT_NO_CHANGES", "GITLAB_EKS_REFRESH"],
  up: ["GITLAB_EKS_DEPLOY_BRANCH"],
  promote: ["GITLAB_EKS_PREVIEW_TARGET", "GITLAB_EKS_TOKEN_VARIABLE"],
  drift: ["GITLAB_EKS_ISSUE_LABEL", "GITLAB_EKS_TOKEN_VARIABLE"],
  destroy: ["GITLAB_EKS_DEPLOY_BRANCH"],
};

/** The input a variable comes from, for messages: GITLAB_EKS_ROOT_DIR -> inputs.root_dir. */
const INPUT: Record<string, string> = {
  GITLAB_EKS_STACK: "stack",
  GITLAB_EKS_ROOT_DIR: "root_dir",
  GITLAB_EKS_DEPLOY_BRANCH: "deploy_branch",
  GITLAB_EKS_TOKEN_VARIABLE: "gitlab_token_variable",
  GITLAB_EKS_EXPECT_NO_CHANGES: "expect_no_changes",
  GITLAB_EKS_REFRESH: "refresh",
  GITLAB_EKS_PROMOTE_TO_STACK: "promote_to_stack",
  GITLAB_EKS_PREVIEW_TARGET: "preview_target",
  GITLAB_EKS_ISSUE_LABEL: "issue_label",
};

export function readJobSettings(job: JobName, env: Env): { settings: JobSettings; problems: Problem[] } {
  const problems: Problem[] = [];
  const get = (name: string) => env[name] ?? "";
  for (const name of ["GITLAB_EKS_STACK", ...REQUIRED[job]])
    if (get(name) === "")
      problems.push({
        key: name,
        message: `not set. \`gitlab-eks ci job ${job}\` runs in a job of the gitlab-eks ${job} component, whose template sets it from inputs.${INPUT[name]}. Fix: include the component (templates/${job}.yml) instead of calling the helper from another job, or set the variable.`,
      });
  const flag = (name: string): boolean => {
    const v = get(name);
    if (v === "" || v === "false") return false;
    if (v === "true") return true;
    problems.push({
      key: `inputs.${INPUT[name]}`,
      message: `is ${JSON.stringify(v)} (${name}): give true or false.`,
    });
    return false;
  };
  const settings: JobSettings = {
    job,
    stack: get("GITLAB_EKS_STACK"),
    rootDir: get("GITLAB_EKS_ROOT_DIR") || ".",
    backendUrl: get("GITLAB_EKS_BACKEND_URL"),
    secretsProvider: get("GITLAB_EKS_SECRETS_PROVIDER"),
    installCommand: get("GITLAB_EKS_INSTALL_COMMAND"),
    awsRoleArn: get("GITLAB_EKS_AWS_ROLE_ARN"),
    deployBranch: get("GITLAB_EKS_DEPLOYS") === "true" ? get("GITLAB_EKS_DEPLOY_BRANCH") : undefined,
    tokenVariable: get("GITLAB_EKS_TOKEN_VARIABLE") || DEFAULT_TOKEN_VARIABLE,
    expectNoChanges: flag("GITLAB_EKS_EXPECT_NO_CHANGES"),
    refresh: flag("GITLAB_EKS_REFRESH"),
    policyPacks: get("GITLAB_EKS_POLICY_PACKS").split(/\s+/).filter(Boolean),
    urlOutput: get("GITLAB_EKS_URL_OUTPUT"),
    environment: get("GITLAB_EKS_ENVIRONMENT"),
    promoteToBranch: get("GITLAB_EKS_PROMOTE_TO_BRANCH"),
    promoteToStack: get("GITLAB_EKS_PROMOTE_TO_STACK"),
    previewTarget: flag("GITLAB_EKS_PREVIEW_TARGET"),
    issueLabel: get("GITLAB_EKS_ISSUE_LABEL") || "pulumi-drift",
  };
  if (job === "promote" && settings.promoteToBranch && !settings.promoteToStack)
    problems.push({
      key: "inputs.promote_to_stack",
      message: `is empty, but promote_to_branch is ${JSON.stringify(settings.promoteToBranch)}. Fix: set it to the stack that branch deploys, or leave promote_to_branch empty for the last environment.`,
    });
  if (settings.awsRoleArn && !get("GITLAB_EKS_ID_TOKEN"))
    problems.push({
      key: "inputs.aws_role_arn",
      message:
        "set, but the job has no ID token (GITLAB_EKS_ID_TOKEN). Fix: use a GitLab version with id_tokens, or leave aws_role_arn empty.",
    });
  return { settings, problems };
}

/** The arguments of the pulumi call each job makes (after `--cwd <root_dir>`), from its settings. */
export function pulumiArgs(s: JobSettings, stack = s.stack): string[] {
  switch (s.job) {
    case "preview":
      return [
        "preview",
        "--non-interactive",
        "--stack",
        stack,
        "--json",
        ...(s.expectNoChanges ? ["--expect-no-changes"] : []),
        ...(s.refresh ? ["--refresh"] : []),
        ...s.policyPacks.flatMap((p) => ["--policy-pack", p]),
      ];
    case "promote":
      return ["preview", "--non-interactive", "--stack", stack, "--json"];
    case "drift":
      return ["preview", "--non-interactive", "--refresh", "--expect-no-changes", "--stack", stack, "--json"];
    case "up":
      return ["up", "--yes", "--non-interactive", "--skip-preview", "--stack", stack];
    case "destroy":
      return ["destroy", "--yes", "--non-interactive", "--skip-preview", "--stack", stack];
  }
}

/** `pulumi stack select`, creating the stack with the secrets provider when one is given. */
export function stackSelectArgs(s: JobSettings): string[] {
  return [
    "stack",
    "select",
    s.stack,
    ...(s.secretsProvider ? ["--create", "--secrets-provider", s.secretsProvider] : []),
  ];
}
