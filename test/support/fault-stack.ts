/**
 * The stack the GitLab fault suites run (test/gitlab-faults*.test.ts): its GitLab objects in the
 * program's order over the real dynamic providers, in the shape a test asks for (a token rotation,
 * in-place changes, another receptive URL or runner project, which replace those), and the counts on
 * the fake GitLab once it converged or was destroyed.
 */
import assert from "node:assert/strict";
import { receptiveUrlProvider, repositoryFileProvider } from "../../infra/cloud/gitlab/agentResources";
import { gitlabRunnerProvider } from "../../infra/cloud/gitlab/runnerResource";
import { TLS_CERT } from "./fake-kube";
import {
  agentObjects,
  FAULT_OWNER as OWNER,
  FAULT_PROJECT as PROJECT,
  type FaultWorld,
  type StackObjects,
  type State,
} from "./faults";

/** A real certificate (GitLab validates ca_cert), standing in for the CA of the agent's endpoint. */
export const AGENT_CA = TLS_CERT.toString("utf8");
const HEADER = `# Managed by gitlab-eks [gitlab-eks:${OWNER}]: Pulumi project and stack.\n`;
export const RECEPTIVE_URL = "grpcs://agent.example.com:443";

export interface StackShape {
  /** agent.tokenRotation (default "initial"). */
  rotation?: string;
  /** The config file's content, the environment's tier and the runner's tags changed (in place). */
  changed?: boolean;
  /** The agent's receptive URL (default RECEPTIVE_URL); another one replaces the URL configuration. */
  url?: string;
  /** The runner's project (default the agent's); another one replaces the runner. */
  runnerProject?: string;
}

/** The stack's GitLab objects in the program's order. */
export function faultStack(
  fw: Pick<FaultWorld, "target">,
  s: Record<string, State>,
  shape: StackShape = {},
): StackObjects {
  const { rotation = "initial", changed = false } = shape;
  const objects = agentObjects(fw, s, rotation, { tier: changed ? "staging" : "production" });
  return [
    [
      "file",
      repositoryFileProvider,
      () => ({
        target: fw.target,
        project: PROJECT,
        path: ".gitlab/agents/prod/config.yaml",
        content: `${HEADER}ci_access: {}\n${changed ? "user_access: {}\n" : ""}`,
        commitMessage: "gitlab-eks: configure agent prod",
        retainOnDelete: false,
        owner: OWNER,
        adopt: false,
        agentName: "prod",
      }),
    ],
    objects.agent,
    objects.token,
    objects.environment,
    [
      "receptiveUrl",
      receptiveUrlProvider,
      () => ({
        target: fw.target,
        project: PROJECT,
        agentId: s.agent.outs.agentId,
        url: shape.url ?? RECEPTIVE_URL,
        // TLS settings too: a create whose answer was lost is found by URL and TLS settings.
        caCert: AGENT_CA,
        tlsHost: "agentk.internal.example.com",
        agentAdopted: s.agent.outs.adopted,
      }),
    ],
    // After the Helm release in the program: revokes this stack's tokens other than the one in state.
    objects.retirement,
    [
      "runner",
      gitlabRunnerProvider,
      () => ({
        target: fw.target,
        runnerType: "project_type",
        project: shape.runnerProject ?? PROJECT,
        description: "gitlab-eks-production",
        tags: changed ? ["eks", "large"] : ["eks"],
        runUntagged: false,
        locked: true,
        accessLevel: "not_protected",
        paused: false,
        owner: OWNER,
      }),
    ],
  ];
}

/** The counts a converged or destroyed stack leaves on the fake GitLab. */
export function faultStackChecks(fw: FaultWorld) {
  const fake = () => fw.w.fake;
  const agentTokens = () => fake().state.agentTokens.filter((t) => t.status === "active");
  const stackRunners = () =>
    fake().state.runners.filter((r) => r.description.includes(`[gitlab-eks:${OWNER}]`));
  return {
    agentTokens,
    stackRunners,
    /** One of each object, the one state holds; the URL configuration at `url`. */
    assertConverged(s: Record<string, State>, url = RECEPTIVE_URL) {
      const { state } = fake();
      assert.equal(state.agents.length, 1, "one agent");
      assert.deepEqual(
        agentTokens().map((t) => t.id),
        [s.token.outs.tokenId],
        "one active token, the one state holds",
      );
      assert.equal(state.environments.length, 1, "one environment");
      assert.deepEqual(
        state.urlConfigurations.map((c) => [Number(c.id), c.url, c.caCert, c.tlsHost]),
        [[Number(s.receptiveUrl.id), url, AGENT_CA, "agentk.internal.example.com"]],
        "one URL configuration, the one state holds, with its TLS settings",
      );
      assert.deepEqual(
        stackRunners().map((r) => [r.id, r.description.endsWith(` ${s.runner.outs.marker}`)]),
        [[s.runner.outs.runnerId, true]],
        "one runner of this stack, the one state holds, with its marker",
      );
      assert.equal(state.runners.length, 1);
      for (const k of ["file", "agent", "environment", "receptiveUrl"])
        assert.equal(s[k].outs.adopted, false, `${k} is this stack's own, so destroy deletes it`);
    },
    assertDestroyed() {
      const { state } = fake();
      assert.equal(state.agents.length, 0, "agent deleted");
      assert.equal(agentTokens().length, 0, "no active token");
      assert.equal(state.environments.length, 0, "environment deleted");
      assert.equal(state.urlConfigurations.length, 0);
      assert.equal(state.runners.length, 0, "no runner left");
      assert.equal(fake().readFile(fw.w.clustersId, "main", ".gitlab/agents/prod/config.yaml"), undefined);
    },
  };
}
