/**
 * The GitLab dynamic providers of the agent's objects against the fake GitLab server: the
 * create/diff/update/delete sequence a `pulumi up`, a second `pulumi up` and a `pulumi destroy` drive;
 * ownership and adoption; failures half-way. Rotation: dynamic-providers-rotation.test.ts; the providers
 * as Pulumi loads them: dynamic-providers-serialized.test.ts.
 */
import assert from "node:assert/strict";
import {
  agentEnvironmentProvider,
  agentTokenProvider,
  clusterAgentProvider,
  repositoryFileProvider,
} from "../infra/cloud/gitlab/agentResources";
import { HEADER, providerWorld, type Target, up } from "./support/provider-world";
import type { GitlabWorld } from "./support/gitlab-world";

describe("GitLab dynamic providers: the agent's objects", () => {
  const pw = providerWorld();
  const { agentInputs, tokenInputs, fileInputs, envInputs, firstUp } = pw;
  let w: GitlabWorld;
  let target: Target;
  beforeEach(() => {
    ({ w, target } = pw);
  });

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
    assert.equal(
      w.fake.readFile(w.clustersId, "main", ".gitlab/agents/prod/config.yaml"),
      `${HEADER}ci_access: {}\n`,
    );
    assert.deepEqual([s.agent.outs.adopted, s.file.outs.adopted, s.env.outs.adopted], [false, false, false]);
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

  it("refuses an agent that exists at preview (check), unless adopt; an adopted agent is released on destroy", async () => {
    const existing = w.fake.addAgent({ projectId: w.clustersId, name: "prod" });
    w.fake.addAgentToken({ agentId: existing.id, name: "glab-bootstrap-1" });
    const checked = await clusterAgentProvider.check!({}, agentInputs());
    assert.match(
      checked.failures![0].reason,
      /already exists in platform\/clusters and this stack did not register it .*"glab-bootstrap-1".*gitlab-eks:agent.adopt/,
    );
    assert.equal(w.fake.countMutatingRequests(), 0, "nothing created at preview");
    const r = await up(clusterAgentProvider, undefined, agentInputs({ adopt: true }));
    assert.deepEqual([r.state.id, r.state.outs.adopted], [String(existing.id), true]);
    const token = (await up(agentTokenProvider, undefined, tokenInputs(existing.id))).state;
    await agentTokenProvider.delete!(token.id, token.outs);
    await clusterAgentProvider.delete!(r.state.id, r.state.outs);
    assert.equal(w.fake.state.agents.length, 1, "released, not deleted");
    assert.deepEqual(
      w.fake.state.agentTokens.filter((t) => t.status === "active").map((t) => t.name),
      ["glab-bootstrap-1"],
      "only this stack's token revoked",
    );
  });

  it("a second stack naming the same agent is refused at preview, adopt or not", async () => {
    await firstUp();
    for (const adopt of [false, true]) {
      const other = { ...agentInputs({ adopt }), owner: "platform-clusters/staging" };
      const checked = await clusterAgentProvider.check!({}, other);
      assert.match(checked.failures![0].reason, /belongs to gitlab-eks stack platform-clusters\/production/);
      const file = await repositoryFileProvider.check!(
        {},
        { ...fileInputs("x: 1\n", { adopt }), owner: "platform-clusters/staging" },
      );
      assert.match(file.failures![0].reason, /belongs to gitlab-eks stack platform-clusters\/production/);
    }
  });

  it("without a preview (up --skip-preview), the config file written first still refuses a foreign agent", async () => {
    w.fake.addAgent({ projectId: w.clustersId, name: "prod" });
    await assert.rejects(
      repositoryFileProvider.create(fileInputs()),
      /Cannot write the agent's config file: agent "prod" already exists .*gitlab-eks:agent.adopt/,
    );
    assert.equal(w.fake.countMutatingRequests(), 0);
    assert.equal(w.fake.readFile(w.clustersId, "main", ".gitlab/agents/prod/config.yaml"), undefined);
  });

  it("a config file that exists without the stack's header is refused, or adopted and released", async () => {
    w.fake.putFile(w.clustersId, "main", ".gitlab/agents/prod/config.yaml", "ci_access: {}\n");
    const checked = await repositoryFileProvider.check!({}, fileInputs());
    assert.match(
      checked.failures![0].reason,
      /already exists in platform\/clusters without this stack's header/,
    );
    const adopted = (await up(repositoryFileProvider, undefined, fileInputs("a: 1\n", { adopt: true })))
      .state;
    assert.equal(adopted.outs.adopted, true);
    await repositoryFileProvider.delete!(adopted.id, adopted.outs);
    assert.ok(
      w.fake.readFile(w.clustersId, "main", ".gitlab/agents/prod/config.yaml"),
      "released, not deleted",
    );
  });

  it("an environment that exists (CI jobs create them) is adopted: linked, never deleted", async () => {
    w.fake.addEnvironment({ projectId: w.clustersId, name: "production" });
    const s = await firstUp();
    assert.equal(s.env.outs.adopted, true);
    await agentEnvironmentProvider.delete!(s.env.id, s.env.outs);
    assert.equal(w.fake.state.environments.length, 1);
  });

  it("a failure half-way leaves nothing the next run cannot find again as its own", async () => {
    const file = (await up(repositoryFileProvider, undefined, fileInputs())).state;
    const agent = (await up(clusterAgentProvider, undefined, agentInputs())).state;
    // The run dies at the token: the token's user lost Maintainer in between.
    process.env.GITLAB_TOKEN = w.developerToken;
    await assert.rejects(
      up(agentTokenProvider, undefined, tokenInputs(agent.outs.agentId as number)),
      /Cannot create a token for cluster agent .*needs to be Maintainer on platform\/clusters/,
    );
    process.env.GITLAB_TOKEN = w.maintainerToken;
    // The state was lost with the failed run: the file's header names this stack, so all is its own.
    const again = await up(clusterAgentProvider, undefined, agentInputs());
    assert.deepEqual([again.state.id, again.state.outs.adopted], [agent.id, false]);
    const f = await up(repositoryFileProvider, undefined, fileInputs());
    assert.deepEqual([f.state.id, f.state.outs.adopted], [file.id, false]);
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
    assert.equal(w.fake.state.agentTokens.filter((t) => t.status === "active").length, 1);
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
});
