/**
 * The world of the GitLab dynamic-provider tests: a fresh fake GitLab for each test with GITLAB_TOKEN set
 * to its maintainer's token (as the provider process reads it), what `pulumi up` does for one resource,
 * and the inputs of the agent's objects (agent "prod", its token, its config file, its environment).
 */
import type * as pulumi from "@pulumi/pulumi";
import {
  agentEnvironmentProvider,
  agentTokenProvider,
  clusterAgentProvider,
  repositoryFileProvider,
} from "../../infra/cloud/gitlab/agentResources";
import { gitlabWorld, type GitlabWorld } from "./gitlab-world";

export type Props = Record<string, unknown>;
export type Target = { url: string; tokenVariable: string };

export const OWNER = "platform-clusters/production";
export const HEADER = `# Managed by gitlab-eks [gitlab-eks:${OWNER}]: Pulumi project and stack.\n`;

/** What `pulumi up` does for one resource: create when new, else diff and update or replace. */
export async function up(
  p: pulumi.dynamic.ResourceProvider,
  state: { id: string; outs: Props } | undefined,
  inputs: Props,
) {
  if (p.check) {
    const c = await p.check(state?.outs ?? {}, inputs);
    if (c.failures?.length) throw new Error(c.failures.map((f) => `${f.property}: ${f.reason}`).join("; "));
  }
  if (!state) {
    const r = await p.create(inputs);
    return { state: { id: r.id, outs: r.outs as Props }, replaced: undefined };
  }
  const d = p.diff ? await p.diff(state.id, state.outs, inputs) : { changes: true, replaces: [] };
  if (!d.changes) return { state, replaced: undefined };
  if (d.replaces?.length) {
    const r = await p.create(inputs); // create-before-delete; the caller deletes `replaced` after dependents
    return { state: { id: r.id, outs: r.outs as Props }, replaced: state };
  }
  const u = await p.update!(state.id, state.outs, inputs);
  return { state: { id: state.id, outs: (u.outs ?? inputs) as Props }, replaced: undefined };
}

/** Registers the hooks (a fresh fake GitLab per test, GITLAB_TOKEN restored after) and the inputs. */
export function providerWorld() {
  const pw = { w: undefined as unknown as GitlabWorld, target: undefined as unknown as Target };
  let savedToken: string | undefined;
  beforeEach(async () => {
    pw.w = await gitlabWorld();
    pw.target = { url: pw.w.fake.url, tokenVariable: "GITLAB_TOKEN" };
    savedToken = process.env.GITLAB_TOKEN;
    process.env.GITLAB_TOKEN = pw.w.maintainerToken;
  });
  afterEach(async () => {
    if (savedToken === undefined) delete process.env.GITLAB_TOKEN;
    else process.env.GITLAB_TOKEN = savedToken;
    await pw.w.fake.close();
  });

  const agentInputs = (extra: Props = {}) => ({
    target: pw.target,
    project: "platform/clusters",
    name: "prod",
    retainOnDelete: false,
    owner: OWNER,
    adopt: false,
    ...extra,
  });
  const tokenInputs = (agentId: number, name = "gitlab-eks-production-initial") => ({
    target: pw.target,
    project: "platform/clusters",
    agentId,
    name,
    description: "gitlab-eks: cluster prod",
    owner: OWNER,
  });
  const fileInputs = (content = "ci_access: {}\n", extra: Props = {}) => ({
    target: pw.target,
    project: "platform/clusters",
    path: ".gitlab/agents/prod/config.yaml",
    content: HEADER + content,
    commitMessage: "gitlab-eks: agent prod config",
    retainOnDelete: false,
    owner: OWNER,
    adopt: false,
    agentName: "prod",
    ...extra,
  });
  const envInputs = (clusterAgentId: number) => ({
    target: pw.target,
    project: "platform/clusters",
    name: "production",
    tier: "production",
    clusterAgentId,
    kubernetesNamespace: "apps",
    retainOnDelete: false,
    owner: OWNER,
  });

  /** In the program's order: the config file (naming the stack) before the agent. */
  async function firstUp() {
    const file = (await up(repositoryFileProvider, undefined, fileInputs())).state;
    const agent = (await up(clusterAgentProvider, undefined, agentInputs())).state;
    const agentId = agent.outs.agentId as number;
    const token = (await up(agentTokenProvider, undefined, tokenInputs(agentId))).state;
    const env = (await up(agentEnvironmentProvider, undefined, envInputs(agentId))).state;
    return { agent, agentId, token, file, env };
  }

  return Object.assign(pw, { agentInputs, tokenInputs, fileInputs, envInputs, firstUp });
}
