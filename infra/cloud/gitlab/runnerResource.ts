/**
 * The GitLab runner as a Pulumi dynamic resource (the pattern of dynamic.ts: the only connection input is
 * the GitLab URL and the NAME of the token's environment variable). Created once through
 * `POST /user/runners`; description, tags, run_untagged, locked, access level, maximum timeout and paused
 * change in place (`PUT /runners/:id`); a different GitLab, runner type, project or group means another
 * runner (replaced create-before-delete, so the manager switches to the new token before the old runner
 * goes); deleted on destroy. Its `token` output (glrt-...) is a Pulumi secret.
 *
 * Unlike an agent, an existing runner cannot be adopted: GitLab shows a runner's token only in the create
 * response, so a runner found by its description would be useless without it.
 */
import * as pulumi from "@pulumi/pulumi";
import { createRunner, deleteRunner, runnerExists, RunnerType, updateRunner } from "../../gitlab/runners";
import { diffByKeys, GitlabTarget, providerApi, targetKey } from "./dynamic";

/** Inputs whose change means another runner (of the target, only the URL: another GitLab). */
export const RUNNER_REPLACE_KEYS = [targetKey, "runnerType", "project", "group"];
/** Inputs GitLab changes in place. */
export const RUNNER_UPDATE_KEYS = [
  "description",
  "tags",
  "runUntagged",
  "locked",
  "accessLevel",
  "maximumTimeout",
  "paused",
];

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const settingsOf = (p: Props) => ({
  description: p.description,
  tags: p.tags,
  runUntagged: p.runUntagged,
  locked: p.locked,
  accessLevel: p.accessLevel,
  maximumTimeout: p.maximumTimeout,
  paused: p.paused,
});

export const gitlabRunnerProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id, olds, news) {
    const d = diffByKeys(olds, news, RUNNER_REPLACE_KEYS, RUNNER_UPDATE_KEYS);
    // GitLab's API can set a maximum timeout but not clear it: clearing it takes a new runner.
    const timeoutCleared = olds.maximumTimeout !== undefined && news.maximumTimeout === undefined;
    const replaces = [...(d.replaces ?? []), ...(timeoutCleared ? ["maximumTimeout"] : [])];
    return { ...d, changes: d.changes || timeoutCleared, replaces };
  },
  async create(inputs: Props) {
    const api = providerApi(inputs.target, "Creating the GitLab runner");
    const created = await createRunner(
      api,
      { runnerType: inputs.runnerType, project: inputs.project, group: inputs.group },
      settingsOf(inputs),
      { tokenVariable: inputs.target.tokenVariable },
    );
    return {
      id: String(created.id),
      outs: { ...inputs, runnerId: created.id, token: created.token, tokenExpiresAt: created.tokenExpiresAt },
    };
  },
  async read(id, props: Props) {
    const api = providerApi(props.target, "Reading the GitLab runner");
    const exists = await runnerExists(api, Number(id), { tokenVariable: props.target.tokenVariable });
    return exists ? { id, props } : { id: "", props: {} };
  },
  async update(id, olds: Props, news: Props) {
    const changed = RUNNER_UPDATE_KEYS.some(
      (k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null),
    );
    if (changed)
      await updateRunner(
        providerApi(news.target, "Updating the GitLab runner"),
        Number(id),
        settingsOf(news),
        {
          tokenVariable: news.target.tokenVariable,
        },
      );
    return {
      outs: { ...news, runnerId: olds.runnerId, token: olds.token, tokenExpiresAt: olds.tokenExpiresAt },
    };
  },
  async delete(id, props: Props) {
    await deleteRunner(providerApi(props.target, "Deleting the GitLab runner"), Number(id), {
      tokenVariable: props.target.tokenVariable,
    });
  },
};

export interface GitlabRunnerArgs {
  target: pulumi.Input<GitlabTarget>;
  runnerType: pulumi.Input<RunnerType>;
  project?: pulumi.Input<string>;
  group?: pulumi.Input<string>;
  description: pulumi.Input<string>;
  tags: pulumi.Input<pulumi.Input<string>[]>;
  runUntagged: pulumi.Input<boolean>;
  locked: pulumi.Input<boolean>;
  accessLevel: pulumi.Input<"not_protected" | "ref_protected">;
  maximumTimeout?: pulumi.Input<number>;
  paused: pulumi.Input<boolean>;
}

export class GitlabRunner extends pulumi.dynamic.Resource {
  declare readonly runnerId: pulumi.Output<number>;
  /** The runner authentication token (glrt-...); a Pulumi secret. */
  declare readonly token: pulumi.Output<string>;
  declare readonly tokenExpiresAt: pulumi.Output<string | null>;

  constructor(name: string, args: GitlabRunnerArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      gitlabRunnerProvider,
      name,
      { ...args, runnerId: undefined, token: undefined, tokenExpiresAt: undefined },
      { ...opts, additionalSecretOutputs: ["token"] },
      "gitlab-eks",
      "GitlabRunner",
    );
  }
}
