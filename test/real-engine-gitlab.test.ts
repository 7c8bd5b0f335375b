/**
 * The project's GitLab objects (agent, token, config file, environment, runner) under the REAL Pulumi
 * engine: test/fixtures/real-gitlab (built from infra/cloud/gitlab) goes through `pulumi up`, a preview that
 * must find no changes, a token rotation, an up that GitLab faults and its re-run, moving `gitlab-eks:agent`
 * into `gitlab-eks:agents[0]` (aliases: nothing changes), and `pulumi destroy`,
 * against the fake GitLab on 127.0.0.1. After each step the state file is read: no token in plaintext,
 * tokens stored as Pulumi secrets, and the objects the fake holds are the ones in the state.
 *
 * The steps build on each other (one stack, in order), as a user's runs do.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { AccessLevel } from "./support/fake-gitlab";
import { gitlabWorld, type GitlabWorld } from "./support/gitlab-world";
import { expectOk, realStack, repoRoot, type RealStack, type StateResource } from "./support/real-pulumi";

const fixture = path.join(repoRoot, "test", "fixtures", "real-gitlab");
const program = path.join(repoRoot, "dist", "test", "fixtures", "real-gitlab", "index.js");
/** Pulumi's marker of a secret value in state (resource.SecretSig). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const type = (name: string) => `pulumi-nodejs:dynamic/gitlab-eks:${name}`;

describe("real engine: the GitLab objects through pulumi up, preview, rotation, faults and destroy", function () {
  this.timeout(0); // real CLI runs on a shared machine: no limit a loaded machine could miss
  let w: GitlabWorld;
  let stack: RealStack;
  /** Owner of group platform with `api` and `create_runner`: what creating a group runner needs. */
  let gitlabToken: string;

  before(async () => {
    w = await gitlabWorld();
    const owner = w.fake.addUser({ username: "platform-owner" });
    w.fake.setMember({ groupId: w.groupId }, owner.id, AccessLevel.OWNER);
    gitlabToken = w.fake.addToken({ userId: owner.id, scopes: ["api", "create_runner"] }).token;
    stack = await realStack({
      projectFile: path.join(fixture, "Pulumi.yaml"),
      program,
      stack: "dev",
      stackFile: path.join(repoRoot, "Pulumi.dev.yaml"),
      env: { GITLAB_TOKEN: gitlabToken, CI_SERVER_URL: "" },
    });
    await setConfig("gitlab-eks:gitlab.url", w.fake.url);
  });
  after(async () => {
    stack?.dispose();
    await w?.fake.close();
  });

  async function setConfig(key: string, value: string) {
    expectOk(await stack.cli(["config", "set", "--path", "--stack", "dev", key, value]), `config set ${key}`);
  }

  const resources = () => stack.state().checkpoint.latest?.resources ?? [];
  const one = (t: string): StateResource => {
    const found = resources().filter((r) => r.type === type(t));
    assert.equal(found.length, 1, `one ${t} in the state`);
    return found[0];
  };

  /** No token in plaintext; tokens are secrets; the fake holds exactly what the state says. */
  function checkState() {
    const text = JSON.stringify(stack.state());
    const secrets = [
      gitlabToken,
      ...w.fake.state.agentTokens.map((t) => t.token),
      ...w.fake.state.runners.map((r) => r.token),
    ];
    for (const s of secrets) assert.ok(!text.includes(s), "a token value is in the state file in plaintext");

    const agent = one("ClusterAgent");
    const token = one("AgentToken");
    const file = one("RepositoryFile");
    const env = one("AgentEnvironment");
    const runner = one("GitlabRunner");
    for (const r of [token, runner]) {
      assert.ok(r.additionalSecretOutputs?.includes("token"), `${r.type}: additionalSecretOutputs`);
      const value = r.outputs?.token as Record<string, unknown> | undefined;
      assert.equal(value?.[SECRET_SIG], "1b47061264138c4ac30d75fd1eb44270", `${r.type}: token is a secret`);
      assert.equal(typeof value?.ciphertext, "string");
    }

    const fake = w.fake.state;
    assert.deepEqual(
      fake.agents.filter((a) => a.projectId === w.clustersId).map((a) => String(a.id)),
      [agent.id],
      "agents in GitLab",
    );
    assert.deepEqual(
      fake.agentTokens.filter((t) => t.status === "active").map((t) => String(t.id)),
      [String(token.outputs?.tokenId)],
      "active agent tokens in GitLab",
    );
    assert.deepEqual(
      fake.environments
        .filter((e) => e.projectId === w.clustersId && e.state === "available")
        .map((e) => ({ id: String(e.id), clusterAgentId: e.clusterAgentId, tier: e.tier })),
      [{ id: env.id, clusterAgentId: agent.outputs?.agentId, tier: env.outputs?.tier }],
      "environments in GitLab",
    );
    assert.equal(
      w.fake.readFile(w.clustersId, "main", String(file.inputs?.path)),
      file.outputs?.content,
      "the agent's config file in GitLab",
    );
    // GitLab holds the description with this stack's marker after it (docs/ownership.md#runners).
    const runners = fake.runners.map((r) => ({
      id: String(r.id),
      description: r.description.replace(/ \[gitlab-eks:gitlab-eks\/dev\] #[0-9a-f]+$/, ""),
      marked: / \[gitlab-eks:gitlab-eks\/dev\] #[0-9a-f]+$/.test(r.description),
    }));
    assert.deepEqual(
      runners,
      [{ id: runner.id, description: runner.outputs?.description, marked: true }],
      "runners",
    );
  }

  it("pulumi up creates the agent, token, config file, environment and runner", async () => {
    const r = expectOk(await stack.run(["up", "--yes"]), "pulumi up");
    assert.match(r.stdout, /\+ 7 created/); // the five objects, the token retirement and the stack
    checkState();
  });

  it("a second preview with --expect-no-changes finds nothing to change", async () => {
    expectOk(await stack.run(["preview", "--expect-no-changes"]), "pulumi preview --expect-no-changes");
    checkState();
  });

  it("a token rotation creates a new agent token and revokes the old one", async () => {
    // A rotation updates the token resource in place: its tokenId output is the token in use.
    const before = String(one("AgentToken").outputs?.tokenId);
    await setConfig("gitlab-eks:agent.tokenRotation", "2026-12");
    expectOk(await stack.run(["up", "--yes"]), "pulumi up (rotation)");
    const after = String(one("AgentToken").outputs?.tokenId);
    assert.notEqual(after, before);
    assert.equal(w.fake.state.agentTokens.find((t) => String(t.id) === before)?.status, "revoked");
    checkState();
    expectOk(await stack.run(["preview", "--expect-no-changes"]), "preview after the rotation");
  });

  it("an up that GitLab faults fails, and its re-run completes with nothing duplicated", async () => {
    await setConfig("gitlab-eks:runner.description", "runner after a fault");
    // infra/gitlab's requester retries 5xx (6 attempts): every attempt at updating the runner fails.
    w.fake.failNext({ method: "PUT", pathPattern: /\/runners\/\d+$/, status: 500, times: 6 });
    const faulted = await stack.run(["up", "--yes"]);
    assert.notEqual(faulted.code, 0, "the faulted up fails");
    assert.match(faulted.stdout + faulted.stderr, /runners/);
    assert.equal(w.fake.pendingFaults(), 0, "every injected fault was met");
    checkState(); // the state still says what GitLab holds (the old description)
    assert.notEqual(one("GitlabRunner").outputs?.description, "runner after a fault");

    expectOk(await stack.run(["up", "--yes"]), "the re-run");
    assert.equal(one("GitlabRunner").outputs?.description, "runner after a fault");
    checkState();
    expectOk(await stack.run(["preview", "--expect-no-changes"]), "preview after the re-run");
  });

  it("moving gitlab-eks:agent into gitlab-eks:agents[0] changes nothing: the aliases rename the objects in state", async () => {
    const file = path.join(stack.dir, "Pulumi.dev.yaml");
    const doc = parse(fs.readFileSync(file, "utf8"));
    const { "gitlab-eks:agent": agent, ...rest } = doc.config;
    doc.config = { ...rest, "gitlab-eks:agents": [agent] };
    fs.writeFileSync(file, stringify(doc));
    const agentTypes = [
      "ClusterAgent",
      "AgentToken",
      "RepositoryFile",
      "AgentEnvironment",
      "AgentTokenRetirement",
    ];
    const before = agentTypes.map((t) => [t, one(t).id, one(t).urn]);
    const requests = w.fake.requests.length;

    expectOk(await stack.run(["preview", "--expect-no-changes"]), "preview after the move");
    const r = expectOk(await stack.run(["up", "--yes", "--expect-no-changes"]), "up after the move");
    assert.doesNotMatch(r.stdout, /created|updated|replaced|deleted/);
    const name = String(one("ClusterAgent").outputs?.name);
    assert.deepEqual(
      agentTypes.map((t) => [t, one(t).id, one(t).urn]),
      before.map(([t, id, urn]) => [t, id, `${urn}-${name}`]),
      "the same objects, under the first entry's names",
    );
    // Reads only (the preflight-free fixture checks nothing): no object was created, changed or deleted.
    assert.deepEqual(
      w.fake.requests.slice(requests).filter((q) => q.method !== "GET"),
      [],
    );
    checkState();
    expectOk(await stack.run(["preview", "--expect-no-changes"]), "preview after the renaming up");
  });

  it("pulumi destroy removes what the stack created", async () => {
    expectOk(await stack.run(["destroy", "--yes"]), "pulumi destroy");
    assert.deepEqual(resources(), []);
    const fake = w.fake.state;
    assert.deepEqual(fake.agents, []);
    assert.deepEqual(
      fake.agentTokens.filter((t) => t.status === "active"),
      [],
    );
    assert.deepEqual(fake.runners, []);
    assert.deepEqual(
      fake.environments.filter((e) => e.state === "available"),
      [],
    );
  });
});
