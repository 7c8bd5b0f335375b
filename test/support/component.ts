/**
 * Shared by the CI/CD component tests under gitlab-ci-local (test/component-*.test.ts): the OIDC ID token,
 * the state backend, the merged-results heads, and the variables of a merge request and a push pipeline.
 */
export const ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.fake-oidc-payload-for-tests.c2lnbmF0dXJl";
export const BACKEND = "s3://pulumi-state-fixture/infra-live";
export const SOURCE_SHA = "1111111111111111111111111111111111111111";
export const TARGET_SHA = "2222222222222222222222222222222222222222";

export const mr = (target: string) => ({
  CI_PIPELINE_SOURCE: "merge_request_event",
  CI_MERGE_REQUEST_TARGET_BRANCH_NAME: target,
  CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: "feature",
  CI_COMMIT_BRANCH: "",
});
export const push = (branch: string) => ({
  CI_PIPELINE_SOURCE: "push",
  CI_COMMIT_BRANCH: branch,
  CI_COMMIT_REF_NAME: branch,
});
