/**
 * Shared by the `gitlab-eks ci ...` tests without gitlab-ci-local (test/ci-helper-*.test.ts): Pulumi's
 * preview output as fixtures (captured from the real CLI, else hand-written), a throwaway consumer folder,
 * and the variables that say "not in CI".
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parsePreview } from "../../infra/ci/preview";
import { ROOT } from "./cli";

/** Captured from the real CLI (test/fixtures/pulumi-captured), else hand-written (test/fixtures/pulumi). */
export const CAPTURED = path.join(ROOT, "test", "fixtures", "pulumi-captured");
export const HANDWRITTEN = path.join(ROOT, "test", "fixtures", "pulumi");
export const fixturePath = (name: string) =>
  fs.existsSync(path.join(CAPTURED, name)) ? path.join(CAPTURED, name) : path.join(HANDWRITTEN, name);
/** Shaped like a personal access token, so the masking by shape is tested; built here, never committed. */
export const PAT_SHAPED = ["glpat", "AbCdEf0123456789xyz"].join("-");
export const fixtureText = (name: string) => fs.readFileSync(fixturePath(name), "utf8");
export const fixture = (name: string) => parsePreview(fixtureText(name), name);
export const PREVIEWS = [...fs.readdirSync(CAPTURED), ...fs.readdirSync(HANDWRITTEN)].filter((f) =>
  f.startsWith("preview-"),
);
export const DIGESTS = PREVIEWS.filter((f) => fixtureText(f).trim() !== "");

export function consumer(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-eks-ci-"));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}
export const PROJECT = {
  "Pulumi.yaml": "name: infra-live\nruntime: nodejs\n",
  "Pulumi.dev.yaml": "config: {}\n",
};
export const noCi = {
  CI_PROJECT_ID: "",
  CI_MERGE_REQUEST_IID: "",
  GITLAB_EKS_TOKEN: "",
  CI_JOB_TOKEN: "",
  CI_COMMIT_BRANCH: "",
};
