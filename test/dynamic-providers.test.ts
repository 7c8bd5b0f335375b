/**
 * The GitLab dynamic providers against the fake GitLab server: the create/diff/update/delete sequence a
 * `pulumi up`, a second `pulumi up`, a rotation and a `pulumi destroy` drive, and the providers loaded
 * from their serialized form exactly as Pulumi's dynamic-provider host loads them.
 */
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import {
  agentEnvironmentProvider,
  agentTokenProvider,
  clusterAgentProvider,
  repositoryFileProvider,
} from "../infra/cloud/gitlab/agentResources";
import { gitlabWorld, GitlabWorld } from "./support/gitlab-world";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireFromString = require("require-from-string") as (code: string) => {
  handler: () => pulumi.dynamic.ResourceProvider;
};

type Props = Record<string, unknown>;

/** A provider as Pulumi's dynamic-provider host runs it: serialized, then loaded from that text. */
async function load(p: pulumi.dynamic.ResourceProvider) {
  return requireFromString(
    (await pulumi.runtime.serializeFunction(() => p, { allowSecrets: false })).text,
  ).handler();
}

describe("GitLab dynamic providers", () => {
  let w: GitlabWorld;
  let savedToken: string | undefined;
  let target: { url: string; tokenVariable: string };

  beforeEach(async () => {
    w = await gitlabWorld();
    target = { url: w.fake.url, tokenVariable: "GITLAB_TOKEN" };
    savedToken = process.env.GITLAB_TOKEN;
    process.env.GITLAB_TOKEN = w.maintainerToken;
  });
  afterEach(async () => {
    if (savedToken === undefined) delete process.env.GITLAB_TOKEN;
    else process.env.GITLAB_TOKEN = savedToken;
    await w.fake.close();
  });

  /** What `pulumi up` does for one resource: create when new, else diff and update or replace. */
  async function up(
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

  const agentInputs = (extra: Props = {}) => ({
    target,
    project: "platform/clusters",
    name: "prod",
    retainOnDelete: false,
    ...extra,
  });
  const tokenInputs = (agentId: number, name = "gitlab-eks-production-initial") => ({
    target,
    project: "platform/clusters",
    agentId,
    name,
    description: "gitlab-eks stack production",
    managedPrefix: "gitlab-eks-",
  });
  const fileInputs = (content = "ci_access: {}\n") => ({
    target,
    project: "platform/clusters",
    path: ".gitlab/agents/prod/config.yaml",
    content,
    commitMessage: "gitlab-eks: agent prod config",
    retainOnDelete: false,
  });
  const envInputs = (clusterAgentId: number) => ({
    target,
    project: "platform/clusters",
    name: "production",
    tier: "production",
    clusterAgentId,
    kubernetesNamespace: "apps",
    retainOnDelete: false,
  });

  async function firstUp() {
    const agent = (await up(clusterAgentProvider, undefined, agentInputs())).state;
    const agentId = agent.outs.agentId as number;
    const token = (await up(agentTokenProvider, undefined, tokenInputs(agentId))).state;
    const file = (await up(repositoryFileProvider, undefined, fileInputs())).state;
    const env = (await up(agentEnvironmentProvider, undefined, envInputs(agentId))).state;
    return { agent, agentId, token, file, env };
  }

  it("first up registers the agent, a token, the config file and the environment", async () => {
    const s = await firstUp();
    const project = w.fake.state.projects.find((p) => p.id === w.clustersId)!;
    assert.ok(project);
    const agents = w.fake.state.agents.filter((a) => a.projectId === w.clustersId);
    assert.deepEqual(
      agents.map((a) => a.name),
      ["prod"],
    );
    assert.match(String(s.token.outs.token), /^glagent-/);
    assert.equal(w.fake.readFile(w.clustersId, "main", ".gitlab/agents/prod/config.yaml"), "ci_access: {}\n");
    const env = w.fake.state.environments.find((e) => e.name === "production")!;
    assert.deepEqual(
      [env.clusterAgentId, env.kubernetesNamespace, env.tier],
      [s.agentId, "apps", "production"],
    );
  });

  it("logs nothing that contains a token during a whole up", async () => {
    const captured: string[] = [];
    const originals = {
      log: console.log,
      error: console.error,
      warn: console.warn,
      write: process.stdout.write,
      ewrite: process.stderr.write,
    };
    const grab = (...args: unknown[]) => void captured.push(args.map(String).join(" "));
    console.log = console.error = console.warn = grab;
    process.stdout.write = process.stderr.write = ((chunk: unknown) => (
      grab(chunk),
      true
    )) as typeof process.stdout.write;
    let token = "";
    try {
      token = String((await firstUp()).token.outs.token);
    } finally {
      Object.assign(console, { log: originals.log, error: originals.error, warn: originals.warn });
      process.stdout.write = originals.write;
      process.stderr.write = originals.ewrite;
    }
    const text = captured.join("\n");
    assert.ok(!text.includes(w.maintainerToken) && !text.includes(token));
    const logged = JSON.stringify(w.fake.requests);
    assert.ok(!logged.includes(w.maintainerToken) && !logged.includes(token));
  });

  it("a second up with the same inputs calls no mutating endpoint", async () => {
    const s = await firstUp();
    w.fake.clearRequests();
    await up(clusterAgentProvider, s.agent, agentInputs());
    await up(agentTokenProvider, s.token, tokenInputs(s.agentId));
    await up(repositoryFileProvider, s.file, fileInputs());
    await up(agentEnvironmentProvider, s.env, envInputs(s.agentId));
    assert.equal(w.fake.countMutatingRequests(), 0);
  });

  it("another token variable is the same agent (an update that calls nothing); another GitLab URL is another agent", async () => {
    const s = await firstUp();
    w.fake.clearRequests();
    for (const [p, state, inputs] of [
      [clusterAgentProvider, s.agent, agentInputs()],
      [agentTokenProvider, s.token, tokenInputs(s.agentId)],
    ] as const) {
      const renamed = { ...inputs, target: { ...target, tokenVariable: "GL_TOKEN" } };
      const d = await p.diff!(state.id, state.outs, renamed);
      assert.deepEqual([d.changes, d.replaces], [true, []]);
      const moved = { ...inputs, target: { ...target, url: "https://other.example.com" } };
      assert.deepEqual((await p.diff!(state.id, state.outs, moved)).replaces, ["target"]);
    }
    const updated = await up(clusterAgentProvider, s.agent, {
      ...agentInputs(),
      target: { ...target, tokenVariable: "GL_TOKEN" },
    });
    assert.equal(updated.replaced, undefined);
    assert.equal(w.fake.countMutatingRequests(), 0);
  });

  it("a changed config file is committed in place, once", async () => {
    const s = await firstUp();
    const commits = w.fake.commitsFor(w.clustersId, "main").length;
    const r = await up(repositoryFileProvider, s.file, fileInputs("user_access: {}\n"));
    assert.equal(r.replaced, undefined);
    assert.equal(w.fake.commitsFor(w.clustersId, "main").length, commits + 1);
    await up(repositoryFileProvider, r.state, fileInputs("user_access: {}\n"));
    assert.equal(w.fake.commitsFor(w.clustersId, "main").length, commits + 1);
  });

  it("adopts an agent that exists (registered by hand, or by a run that died before saving state)", async () => {
    const existing = w.fake.addAgent({ projectId: w.clustersId, name: "prod" });
    const r = await up(clusterAgentProvider, undefined, agentInputs());
    assert.deepEqual([r.state.id, r.state.outs.adopted], [String(existing.id), true]);
    assert.equal(w.fake.state.agents.filter((a) => a.name === "prod").length, 1);
  });

  it("a failure half-way leaves nothing the next run cannot adopt", async () => {
    const agent = (await up(clusterAgentProvider, undefined, agentInputs())).state;
    // The run dies at the token: the token's user lost Maintainer in between.
    process.env.GITLAB_TOKEN = w.developerToken;
    await assert.rejects(
      up(agentTokenProvider, undefined, tokenInputs(agent.outs.agentId as number)),
      /Cannot create a token for cluster agent .*needs to be Maintainer on platform\/clusters/,
    );
    process.env.GITLAB_TOKEN = w.maintainerToken;
    // The state was lost with the failed run: everything is found again, nothing duplicated.
    const again = await up(clusterAgentProvider, undefined, agentInputs());
    assert.equal(again.state.id, agent.id);
    const token = await up(agentTokenProvider, undefined, tokenInputs(again.state.outs.agentId as number));
    assert.match(String(token.state.outs.token), /^glagent-/);
    assert.equal(w.fake.state.agents.length, 1);
  });

  it("survives a 429 with Retry-After and a 502 mid-run", async () => {
    w.fake.failNext({ method: "POST", pathPattern: /cluster_agents$/, status: 429, retryAfterSeconds: 1 });
    w.fake.failNext({ method: "POST", pathPattern: /\/tokens$/, status: 502 });
    const s = await firstUp();
    assert.match(String(s.token.outs.token), /^glagent-/);
    assert.equal(w.fake.pendingFaults(), 0);
  });

  it("rotation creates the new token before the old one is revoked, never leaving three active", async () => {
    const s = await firstUp();
    w.fake.addAgentToken({ agentId: s.agentId, name: "glab-bootstrap-1" }); // someone else's
    const activeCount = () =>
      w.fake.state.agentTokens.filter((t) => t.agentId === s.agentId && t.status === "active").length;
    assert.equal(activeCount(), 2);
    const rotated = await up(
      agentTokenProvider,
      s.token,
      tokenInputs(s.agentId, "gitlab-eks-production-2026-11"),
    );
    assert.ok(rotated.replaced, "a new rotation trigger replaces the token");
    assert.notEqual(rotated.state.outs.token, s.token.outs.token);
    assert.equal(
      activeCount(),
      2,
      "the foreign token made room; the old one still works while the Secret rolls",
    );
    await agentTokenProvider.delete!(rotated.replaced!.id, rotated.replaced!.outs);
    const active = w.fake.state.agentTokens.filter((t) => t.agentId === s.agentId && t.status === "active");
    assert.deepEqual(
      active.map((t) => t.id),
      [rotated.state.outs.tokenId],
    );
    assert.ok(
      w.fake.requestsMatching({ method: "POST", pathPattern: /\/tokens$/ }).every((r) => r.status === 201),
      "GitLab never refused a third token",
    );
  });

  it("destroy revokes the token and removes the environment, the config file and the agent", async () => {
    const s = await firstUp();
    await agentTokenProvider.delete!(s.token.id, s.token.outs);
    await agentEnvironmentProvider.delete!(s.env.id, s.env.outs);
    await repositoryFileProvider.delete!(s.file.id, s.file.outs);
    await clusterAgentProvider.delete!(s.agent.id, s.agent.outs);
    assert.equal(w.fake.state.agents.length, 0);
    assert.equal(w.fake.state.environments.length, 0);
    assert.equal(w.fake.readFile(w.clustersId, "main", ".gitlab/agents/prod/config.yaml"), undefined);
    // Deleting again (a retried destroy) is fine.
    await clusterAgentProvider.delete!(s.agent.id, s.agent.outs);
  });

  it("retainOnDelete keeps the agent, its file and environment, but still revokes the token", async () => {
    const agent = (await up(clusterAgentProvider, undefined, agentInputs({ retainOnDelete: true }))).state;
    const token = (await up(agentTokenProvider, undefined, tokenInputs(agent.outs.agentId as number))).state;
    await agentTokenProvider.delete!(token.id, token.outs);
    await clusterAgentProvider.delete!(agent.id, agent.outs);
    assert.equal(w.fake.state.agents.length, 1);
    assert.equal(w.fake.state.agentTokens.filter((t) => t.status === "active").length, 0);
  });

  it("refresh notices an agent deleted in GitLab", async () => {
    const s = await firstUp();
    w.fake.state.agents = [];
    const r = await clusterAgentProvider.read!(s.agent.id, s.agent.outs);
    assert.equal(r.id, "");
  });

  it("refuses an invalid agent name before any call", async () => {
    await assert.rejects(
      up(clusterAgentProvider, undefined, agentInputs({ name: "Prod_Cluster" })),
      /name: agent name .*\(RFC 1123 DNS label\)/,
    );
    assert.equal(w.fake.countRequests(), 0);
  });

  it("says which token is missing when the provider process has none", async () => {
    delete process.env.GITLAB_TOKEN;
    await assert.rejects(
      up(clusterAgentProvider, undefined, agentInputs()),
      /needs a GitLab token in the GITLAB_TOKEN environment variable/,
    );
  });

  describe("as Pulumi runs them: serialized, then loaded by the dynamic-provider host", () => {
    const providers = {
      clusterAgentProvider,
      agentTokenProvider,
      repositoryFileProvider,
      agentEnvironmentProvider,
    };

    for (const [name, provider] of Object.entries(providers)) {
      it(`${name} serializes without capturing any token`, async () => {
        const { text } = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: false });
        assert.ok(!text.includes(w.maintainerToken));
        assert.ok(!/glpat-|glagent-[A-Za-z0-9]/.test(text));
        assert.match(text, /require\("@gitbeaker\/core"\)/);
      });
    }

    it("the serialized providers keep their error handling: 404 is 'already gone', 403 keeps its message", async () => {
      const agentP = await load(clusterAgentProvider);
      const tokenP = await load(agentTokenProvider);
      const agent = await agentP.create(agentInputs());
      await agentP.delete!(agent.id, agent.outs);
      await agentP.delete!(agent.id, agent.outs); // GitLab answers 404: done, not an error
      assert.equal((await agentP.read!(agent.id, agent.outs)).id, "");
      const again = await agentP.create(agentInputs());
      process.env.GITLAB_TOKEN = w.developerToken;
      await assert.rejects(tokenP.create(tokenInputs(again.outs.agentId)), (e: Error) => {
        assert.match(
          e.message,
          /Cannot create a token for cluster agent .*needs to be Maintainer on platform\/clusters/,
        );
        return true;
      });
    });

    it("the serialized providers register, rotate and destroy against GitLab", async () => {
      const agentP = await load(clusterAgentProvider);
      const tokenP = await load(agentTokenProvider);
      const agent = await agentP.create(agentInputs());
      const token = await tokenP.create(tokenInputs(agent.outs.agentId));
      assert.match(token.outs.token, /^glagent-/);
      const rotated = await tokenP.create(tokenInputs(agent.outs.agentId, "gitlab-eks-production-2"));
      await tokenP.delete!(token.id, token.outs);
      await agentP.delete!(agent.id, agent.outs);
      assert.ok(rotated.outs.token);
      assert.equal(w.fake.state.agents.length, 0);
    });
  });
});
