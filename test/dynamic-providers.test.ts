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
  agentTokenRetirementProvider,
  clusterAgentProvider,
  receptiveUrlProvider,
  repositoryFileProvider,
} from "../infra/cloud/gitlab/agentResources";
import {
  fluxDeployTokenProvider,
  fluxDeployTokenRetirementProvider,
} from "../infra/cloud/gitlab/fluxResources";
import { fluxDeployTokenName } from "../infra/gitlab/deployTokens";
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

  const OWNER = "platform-clusters/production";
  const HEADER = `# Managed by gitlab-eks [gitlab-eks:${OWNER}]: Pulumi project and stack.\n`;
  const agentInputs = (extra: Props = {}) => ({
    target,
    project: "platform/clusters",
    name: "prod",
    retainOnDelete: false,
    owner: OWNER,
    adopt: false,
    ...extra,
  });
  const tokenInputs = (agentId: number, name = "gitlab-eks-production-initial") => ({
    target,
    project: "platform/clusters",
    agentId,
    name,
    description: "gitlab-eks: cluster prod",
    owner: OWNER,
  });
  const fileInputs = (content = "ci_access: {}\n", extra: Props = {}) => ({
    target,
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
    target,
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

  it("a stack created before tokens carried its identity: the first rotation still retires the old token", async () => {
    const s = await firstUp();
    const legacy = w.fake.state.agentTokens.find((t) => t.id === s.token.outs.tokenId)!;
    legacy.description = "gitlab-eks: cluster prod, stack production"; // the old description, no identity
    const rotated = await up(agentTokenProvider, s.token, tokenInputs(s.agentId, "gitlab-eks-production-2"));
    assert.deepEqual(rotated.state.outs.replacedTokenIds, [legacy.id]);
    await up(agentTokenRetirementProvider, undefined, {
      target,
      project: "platform/clusters",
      agentId: s.agentId,
      keepTokenId: rotated.state.outs.tokenId,
      replacedTokenIds: rotated.state.outs.replacedTokenIds,
      owner: OWNER,
    });
    assert.deepEqual(
      w.fake.state.agentTokens.filter((t) => t.status === "active").map((t) => t.id),
      [rotated.state.outs.tokenId],
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

  it("rotation: the new token is created while the one in use stays; the old is revoked only by the retirement", async () => {
    const s = await firstUp();
    const activeIds = () =>
      w.fake.state.agentTokens
        .filter((t) => t.agentId === s.agentId && t.status === "active")
        .map((t) => t.id);
    const retirementInputs = (keepTokenId: number) => ({
      target,
      project: "platform/clusters",
      agentId: s.agentId,
      keepTokenId,
      owner: OWNER,
    });
    const retirement = (
      await up(agentTokenRetirementProvider, undefined, retirementInputs(s.token.outs.tokenId as number))
    ).state;
    const rotated = await up(
      agentTokenProvider,
      s.token,
      tokenInputs(s.agentId, "gitlab-eks-production-2026-11"),
    );
    assert.equal(
      rotated.replaced,
      undefined,
      "an update: the token in use stays in state while the new one is made",
    );
    assert.notEqual(rotated.state.outs.token, s.token.outs.token);
    assert.deepEqual(activeIds().sort(), [s.token.outs.tokenId, rotated.state.outs.tokenId].sort());
    // ... the Secret and the pods roll; then the retirement runs:
    await up(
      agentTokenRetirementProvider,
      retirement,
      retirementInputs(rotated.state.outs.tokenId as number),
    );
    assert.deepEqual(activeIds(), [rotated.state.outs.tokenId]);
    // A foreign token is never revoked to make room: the next rotation says what to do instead.
    w.fake.addAgentToken({ agentId: s.agentId, name: "glab-bootstrap-1" });
    await assert.rejects(
      up(agentTokenProvider, rotated.state, tokenInputs(s.agentId, "gitlab-eks-production-2027-05")),
      /none is an orphan of this stack.*"glab-bootstrap-1"/,
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
      agentTokenRetirementProvider,
      repositoryFileProvider,
      agentEnvironmentProvider,
      receptiveUrlProvider,
      fluxDeployTokenProvider,
      fluxDeployTokenRetirementProvider,
    };

    for (const [name, provider] of Object.entries(providers)) {
      it(`${name} serializes without capturing any token`, async () => {
        const { text } = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: false });
        assert.ok(!text.includes(w.maintainerToken));
        assert.ok(!/glpat-|glagent-[A-Za-z0-9]|gldt-[A-Za-z0-9]/.test(text));
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
      const rotated = await tokenP.update!(
        token.id,
        token.outs,
        tokenInputs(agent.outs.agentId, "gitlab-eks-production-2"),
      );
      assert.ok(rotated.outs!.token && rotated.outs!.token !== token.outs.token);
      assert.equal(w.fake.state.agentTokens.filter((t) => t.status === "active").length, 2);
      const retirementP = await load(agentTokenRetirementProvider);
      const retired = await retirementP.create({
        target,
        project: "platform/clusters",
        agentId: agent.outs.agentId,
        keepTokenId: rotated.outs!.tokenId,
        replacedTokenIds: rotated.outs!.replacedTokenIds,
        owner: OWNER,
      });
      assert.deepEqual(retired.outs.revoked, [token.outs.tokenId]);
      const fileP = await load(repositoryFileProvider);
      assert.match(
        ((await fileP.check!({}, { ...fileInputs(), owner: "platform-clusters/other" })).failures ?? [])[0]
          ?.reason ?? "",
        /belongs to gitlab-eks stack platform-clusters\/production/,
      );
      await tokenP.delete!(token.id, rotated.outs);
      assert.equal(w.fake.state.agentTokens.filter((t) => t.status === "active").length, 0);
      await agentP.delete!(agent.id, agent.outs);
      assert.equal(w.fake.state.agents.length, 0);
    });

    it("Flux's deploy token, loaded: created with its value once, rotated, the old one retired, a developer refused", async () => {
      const tokenP = await load(fluxDeployTokenProvider);
      const inputs = (rotation: string) => ({
        target,
        project: "platform/clusters",
        name: fluxDeployTokenName(OWNER, "prod", rotation),
        owner: OWNER,
      });
      const first = await tokenP.create(inputs("initial"));
      assert.match(first.outs.token, /^gldt-/);
      assert.match(first.outs.username, /^gitlab\+deploy-token-\d+$/);
      const rotated = await tokenP.update!(first.id, first.outs, inputs("2026-11"));
      assert.equal(w.fake.state.deployTokens.length, 2, "the one in use stays until retired");
      const retired = await (
        await load(fluxDeployTokenRetirementProvider)
      ).create({
        target,
        project: "platform/clusters",
        keepTokenId: rotated.outs!.tokenId,
        replacedTokenIds: rotated.outs!.replacedTokenIds,
        owner: OWNER,
      });
      assert.deepEqual(retired.outs.revoked, [first.outs.tokenId]);
      await tokenP.delete!(first.id, rotated.outs);
      assert.equal(w.fake.state.deployTokens.length, 0);
      process.env.GITLAB_TOKEN = w.developerToken;
      await assert.rejects(tokenP.create(inputs("initial")), (e: Error) => {
        assert.match(
          e.message,
          /deploy tokens of platform\/clusters.*needs to be Maintainer on platform\/clusters/,
        );
        return true;
      });
    });
  });
});
