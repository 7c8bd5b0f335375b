/**
 * The GitLab runner as a Pulumi dynamic resource (the pattern of dynamic.ts: the only connection input is
 * the GitLab URL and the NAME of the token's environment variable). Created once through
 * `POST /user/runners`; description, tags, run_untagged, locked, access level, maximum timeout and paused
 * change in place (`PUT /runners/:id`); a different GitLab, runner type, project or group means another
 * runner (replaced create-before-delete, so the manager switches to the new token before the old runner
 * goes); deleted on destroy. Its `token` output (glrt-...) is a Pulumi secret.
 *
 * Unlike an agent, an existing runner cannot be adopted: GitLab shows a runner's token only in the create
 * response, so a runner found by its description would be useless without it. The description ends with
 * this stack's marker (infra/gitlab/runners.ts): before creating, runners of this stack and generation no
 * state holds (a create whose answer was lost) are deleted, and destroy deletes every runner carrying it.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  createRunner,
  deleteStackRunners,
  runnerExists,
  runnerMarker,
  RunnerType,
  updateRunner,
} from "../../gitlab/runners";
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
  "owner",
];

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const targetOf = (p: Props) => ({ runnerType: p.runnerType, project: p.project, group: p.group });

/** The marker of this stack's runner with these inputs; none for a state written before owners existed. */
const markerOf = (p: Props): string | undefined =>
  p.owner
    ? runnerMarker({
        owner: p.owner,
        url: p.target.url,
        target: targetOf(p),
        hasMaximumTimeout: p.maximumTimeout !== undefined,
      })
    : undefined;

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
    const marker = markerOf(inputs);
    const created = await createRunner(api, targetOf(inputs), settingsOf(inputs), {
      tokenVariable: inputs.target.tokenVariable,
      marker,
    });
    return {
      id: String(created.id),
      outs: {
        ...inputs,
        runnerId: created.id,
        token: created.token,
        tokenExpiresAt: created.tokenExpiresAt,
        marker,
      },
    };
  },
  async read(id, props: Props) {
    const api = providerApi(props.target, "Reading the GitLab runner");
    const exists = await runnerExists(api, Number(id), { tokenVariable: props.target.tokenVariable });
    return exists ? { id, props } : { id: "", props: {} };
  },
  async update(id, olds: Props, news: Props) {
    const marker = markerOf(news);
    const changed =
      marker !== olds.marker ||
      RUNNER_UPDATE_KEYS.some((k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null));
    if (changed)
      await updateRunner(
        providerApi(news.target, "Updating the GitLab runner"),
        Number(id),
        settingsOf(news),
        { tokenVariable: news.target.tokenVariable, marker },
      );
    return {
      outs: {
        ...news,
        runnerId: olds.runnerId,
        token: olds.token,
        tokenExpiresAt: olds.tokenExpiresAt,
        marker,
      },
    };
  },
  async delete(id, props: Props) {
    // This runner, and every other runner of this stack and generation (orphans of lost creates).
    await deleteStackRunners(
      providerApi(props.target, "Deleting the GitLab runner"),
      Number(id),
      targetOf(props),
      props.marker,
      { tokenVariable: props.target.tokenVariable },
    );
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
  /** This stack's identity, `PROJECT/STACK`: it goes into the runner's description marker. */
  owner?: pulumi.Input<string>;
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
      { ...args, runnerId: undefined, token: undefined, tokenExpiresAt: undefined, marker: undefined },
      { ...opts, additionalSecretOutputs: ["token"] },
      "gitlab-eks",
      "GitlabRunner",
    );
  }
}
