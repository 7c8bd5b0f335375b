/**
 * Shared by the `gitlab-eks ci job <name>` tests (test/ci-job*.test.ts): token-shaped values, the variables
 * each job's template sets, a throwaway consumer folder, and `job`, which runs the helper in this process
 * (so a test sees each line the moment the helper prints it) with the stand-in pulumi
 * (test/fixtures/bin/pulumi) on PATH.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { JobName } from "../../infra/ci/settings";
import { run } from "../../infra/cli/main";
import { ROOT } from "./cli";

/** Token-shaped values, built at run time (a committed one would be flagged as a leaked token). */
const shaped = (prefix: string) => [prefix, "Zq8xYw7vUt6sRr5pQo4n"].join("-");
export const PAT = shaped("glpat");
export const RUNNER = shaped("glrt");
export const AGENT = shaped("glagent");
export const DEPLOY = shaped("gldt");
export const AWS_KEY = ["AKIA", "Q3EXAMPLE7XYZ12345"].join("").slice(0, 20);
export const ID_TOKEN = ["eyJhbGciOiJSUzI1NiJ9", "eyJzdWIiOiJqb2IifQ", "c2lnbmF0dXJl"].join(".");
export const GITLAB_TOKEN = "plain-looking-gitlab-token-value-1234";
export const BOT_TOKEN = "another-plain-token-value-5678";

export interface JobRun {
  code: number;
  out: string[];
  err: string[];
  /** Lines of the stand-in's call log: "args<TAB>cwd=..<TAB>stack=..<TAB>web_identity=..". */
  calls: string[];
  dir: string;
}

const PREVIEW_VARS = {
  GITLAB_EKS_TOKEN_VARIABLE: "GITLAB_EKS_TOKEN",
  GITLAB_EKS_EXPECT_NO_CHANGES: "false",
  GITLAB_EKS_REFRESH: "false",
  GITLAB_EKS_POLICY_PACKS: "",
};
/** The variables each job's template sets, with their defaults. */
export const TEMPLATE_VARS: Record<JobName, Record<string, string>> = {
  preview: { ...PREVIEW_VARS, GITLAB_EKS_DEPLOY_BRANCH: "main" },
  up: { GITLAB_EKS_DEPLOY_BRANCH: "main", GITLAB_EKS_TIER: "development", GITLAB_EKS_DEPLOYS: "true" },
  promote: {
    GITLAB_EKS_DEPLOY_BRANCH: "main",
    GITLAB_EKS_PROMOTE_TO_BRANCH: "staging",
    GITLAB_EKS_PROMOTE_TO_STACK: "staging",
    GITLAB_EKS_PREVIEW_TARGET: "true",
    GITLAB_EKS_TOKEN_VARIABLE: "GITLAB_EKS_TOKEN",
    GITLAB_EKS_ENVIRONMENT: "",
  },
  drift: { GITLAB_EKS_TOKEN_VARIABLE: "GITLAB_EKS_TOKEN", GITLAB_EKS_ISSUE_LABEL: "pulumi-drift" },
  destroy: { GITLAB_EKS_DEPLOY_BRANCH: "main", GITLAB_EKS_DEPLOYS: "true" },
};

export function consumerDir(rootDir = "."): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-eks-job-"));
  const project = path.join(dir, rootDir);
  fs.mkdirSync(project, { recursive: true });
  fs.writeFileSync(path.join(project, "Pulumi.yaml"), "name: infra-live\nruntime: nodejs\n");
  for (const stack of ["dev", "staging"])
    fs.writeFileSync(
      path.join(project, `Pulumi.${stack}.yaml`),
      "config:\n  gitlab-eks:gitlab:\n    tokenVariable: INFRA_GITLAB\n",
    );
  return dir;
}

export async function job(
  name: JobName,
  vars: Record<string, string> = {},
  options: { dir?: string; onLine?: (line: string, dir: string) => void; path?: string } = {},
): Promise<JobRun> {
  const dir = options.dir ?? consumerDir(vars.GITLAB_EKS_ROOT_DIR);
  const log = path.join(dir, "pulumi-calls.log");
  const out: string[] = [];
  const err: string[] = [];
  const env: Record<string, string> = {
    PATH: options.path ?? [path.join(ROOT, "test", "fixtures", "bin"), process.env.PATH].join(path.delimiter),
    HOME: dir,
    PULUMI_STANDIN_LOG: log,
    GITLAB_EKS_STACK: "dev",
    GITLAB_EKS_ROOT_DIR: ".",
    GITLAB_EKS_BACKEND_URL: "s3://state/dev",
    GITLAB_EKS_SECRETS_PROVIDER: "",
    GITLAB_EKS_INSTALL_COMMAND: "",
    GITLAB_EKS_HELPER_PROJECT: "",
    GITLAB_EKS_HELPER_VERSION: "0.1.0",
    GITLAB_EKS_AWS_ROLE_ARN: "",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    CI_COMMIT_BRANCH: "main",
    CI_COMMIT_REF_PROTECTED: "true",
    ...TEMPLATE_VARS[name],
    ...vars,
  };
  const code = await run(["ci", "job", name], {
    out: (l) => {
      out.push(l);
      options.onLine?.(l, dir);
    },
    err: (l) => {
      err.push(l);
      options.onLine?.(l, dir);
    },
    cwd: dir,
    env,
  });
  const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : [];
  return { code, out, err, calls, dir };
}

export const args = (r: JobRun) => r.calls.map((c) => c.split("\t")[0]);
export const text = (r: JobRun) => [...r.out, ...r.err].join("\n");
