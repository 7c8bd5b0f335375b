/**
 * The CI/CD component with a stack of several agents: the `up` job's outputs step (`gitlab-eks ci outputs`)
 * exports the `agents` output as one dotenv variable and prints each agent's kube context, the one GitLab
 * gives CI/CD jobs of the projects in that agent's ci_access.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { agentContextLines } from "../infra/ci/outputs";
import { cli } from "./support/cli";

/** What the Pulumi program exports for two agents (infra/index.ts): `agents` plus the first's shorthand. */
const OUTPUTS = {
  clusterName: "ops",
  kubeconfig: "[secret]",
  agentName: "ops",
  agentId: 11,
  agentProject: "platform/clusters",
  agents: {
    ops: { id: 11, project: "platform/clusters", namespace: "gitlab-agent", releaseName: "gitlab-agent" },
    apps: {
      id: 12,
      project: "apps/deploy",
      namespace: "gitlab-agent-apps",
      releaseName: "gitlab-agent-apps",
      receptiveUrl: "grpcs://apps-agent.example.com:443",
    },
  },
};

describe("the CI/CD component with several agents", () => {
  it("ci outputs: the agents output in the dotenv, and each agent's kube context in the log", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-eks-ci-agents-"));
    try {
      fs.writeFileSync(path.join(dir, "o.json"), JSON.stringify(OUTPUTS));
      const r = cli(["ci", "outputs", "--json", "o.json", "--dotenv", "o.env"], { cwd: dir, env: {} });
      assert.equal(r.code, 0, r.stderr);
      const dotenv = fs.readFileSync(path.join(dir, "o.env"), "utf8");
      const line = dotenv.split("\n").find((l) => l.startsWith("PULUMI_OUTPUT_AGENTS="));
      assert.ok(line, dotenv);
      assert.deepEqual(JSON.parse(line.slice("PULUMI_OUTPUT_AGENTS=".length)), OUTPUTS.agents);
      assert.match(dotenv, /^PULUMI_OUTPUT_AGENTNAME=ops$/m);
      assert.doesNotMatch(dotenv, /KUBECONFIG/, "a secret output stays out");
      assert.match(
        r.stdout,
        /^agent ops: kube context platform\/clusters:ops \(agentk in namespace gitlab-agent\)$/m,
      );
      assert.match(
        r.stdout,
        /^agent apps: kube context apps\/deploy:apps \(agentk in namespace gitlab-agent-apps\)$/m,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("says nothing about agents for a program without that output, or with a secret project", () => {
    assert.deepEqual(agentContextLines({ url: "https://x.example" }), []);
    assert.deepEqual(agentContextLines(null), []);
    assert.deepEqual(agentContextLines({ agents: "[secret]" }), []);
    assert.deepEqual(agentContextLines({ agents: { a: { project: "[secret]" } } }), []);
    assert.deepEqual(agentContextLines({ agents: { a: { project: "g/p" } } }), [
      "agent a: kube context g/p:a",
    ]);
  });
});
