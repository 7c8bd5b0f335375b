/**
 * The ONE masking function of `gitlab-eks ci`: every text that leaves the helper (the MR note, with its
 * diff block and diagnostics; the drift issue and its comment; the promotion MR description; every line
 * it prints to the job log, pulumi's streamed output included) goes through `maskText`. It replaces with
 * "[secret]":
 *   - the values the job holds in secret variables (`jobSecrets`): the GitLab token variables (GITLAB_TOKEN,
 *     GITLAB_EKS_TOKEN and the configured token variable), the job token, the OIDC ID token, AWS and Pulumi
 *     credentials, and any variable whose name says it is a token, secret, password or passphrase;
 *   - anything shaped like a token, whatever printed it: GitLab tokens by their documented prefixes
 *     (glpat-, glrt-, glagent-, gldt-, ...), JSON web tokens (the job's ID token), AWS access key ids.
 * Stack secrets never arrive in plain text: Pulumi prints them as "[secret]", and `maskSecrets` (preview.ts)
 * masks anything in a preview still shaped like a serialized secret before it is turned into text.
 * Pure: no I/O.
 */

/** Token shapes by their documented prefixes; `[secret]` replaces the whole token. */
const TOKEN_SHAPES = [
  /\bgl(?:pat|oas|dt|rt|rtr|cbt|ptt|ft|imt|agent|soat|ffct|wt)-[0-9A-Za-z_.-]{8,}/g,
  /\beyJ[0-9A-Za-z_-]{4,}\.[0-9A-Za-z_-]{4,}\.[0-9A-Za-z_-]{4,}/g,
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g,
];

/** Variables that hold secrets whatever their value looks like. */
const SECRET_VARIABLES = [
  "GITLAB_TOKEN",
  "GITLAB_EKS_TOKEN",
  "CI_JOB_TOKEN",
  "GITLAB_EKS_ID_TOKEN",
  "CI_JOB_JWT",
  "CI_JOB_JWT_V2",
  "CI_REGISTRY_PASSWORD",
  "CI_DEPLOY_PASSWORD",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "PULUMI_ACCESS_TOKEN",
  "PULUMI_CONFIG_PASSPHRASE",
];

/**
 * A variable name that says it holds a secret (`INFRA_BOT_TOKEN`, `DB_PASSWORD`, ...), but not one that
 * names another variable or a file (`GITLAB_EKS_TOKEN_VARIABLE`, `PULUMI_CONFIG_PASSPHRASE_FILE`).
 */
const SECRET_NAME = /(TOKEN|SECRET|PASSWORD|PASSPHRASE|PRIVATE_KEY)(?!.*_(VARIABLE|FILE)$)/i;

/** Values shorter than this are not masked by value: "[secret]" for every "true" would hide the log. */
const MIN_SECRET_LENGTH = 8;

/**
 * The values of the job's secret variables: the fixed list, the named token variables (the component's
 * gitlab_token_variable, a stack's gitlab.tokenVariable) and every variable named like a secret.
 */
export function jobSecrets(
  env: Record<string, string | undefined>,
  tokenVariables: readonly string[] = [],
): string[] {
  const names = new Set([...SECRET_VARIABLES, ...tokenVariables]);
  for (const name of Object.keys(env)) if (SECRET_NAME.test(name)) names.add(name);
  const values = [...names]
    .map((n) => env[n] ?? "")
    .filter((v) => v.length >= MIN_SECRET_LENGTH && !/^(true|false|\$\w+)$/.test(v));
  // Longest first, so a secret that contains another is masked whole.
  return [...new Set(values)].sort((a, b) => b.length - a.length);
}

/** Replaces every known secret value and every token-shaped string in `text` with "[secret]". */
export function maskText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets)
    if (secret.length >= MIN_SECRET_LENGTH) out = out.split(secret).join("[secret]");
  for (const shape of TOKEN_SHAPES) out = out.replace(shape, "[secret]");
  return out;
}

/** `maskText` bound to one job's secrets. */
export type Mask = (text: string) => string;

export function masker(secrets: readonly string[]): Mask {
  return (text) => maskText(text, secrets);
}
