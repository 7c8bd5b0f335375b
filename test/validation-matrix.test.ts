/**
 * Bad and odd inputs, as an unfriendly user or a generated file would write them (issue 10): each one is
 * refused with the full key, what is wrong and the fix, or gets the right answer.
 */
import assert from "node:assert/strict";
import { formatProblem } from "../infra/config/problems";
import { validateStackConfig } from "../infra/config/validate";
import { SECRET_PLACEHOLDER } from "../infra/core/secret";
import { architectureOf, EC2_FAMILIES, instanceTypeProblem } from "../infra/core/instances";
import { desiredNodePools } from "../infra/model/nodePools";
import { configOf, minimal, problemsOf } from "./support/config";

const runner = (extra: Record<string, unknown>) => ({
  "gitlab-eks:runner": { group: "platform", ...extra },
});
const cluster = (extra: Record<string, unknown>) => ({
  "gitlab-eks:cluster": { vpcCidr: "10.0.0.0/16", ...extra },
});
const agent = (extra: Record<string, unknown>) => ({ "gitlab-eks:agent": extra });
const agents = (list: Record<string, unknown>[]) => ({ "gitlab-eks:agents": list });
const tags = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, "x"]));

interface Case {
  name: string;
  values: Record<string, unknown>;
  /** The key of the one problem expected. */
  key: string;
  /** What its message must say. */
  says: RegExp[];
  /** What it must not say. */
  not?: RegExp[];
}

const CASES: Case[] = [
  // ---- bounds that match the real limits ----
  {
    name: "more user tags than AWS leaves room for",
    values: { "gitlab-eks:tags": tags(42) },
    key: "gitlab-eks:tags",
    says: [/has 42 tags/, /at most 41 are accepted/],
  },
  {
    name: "100,000 tags: one problem, not one per entry",
    values: { "gitlab-eks:tags": tags(100_000) },
    key: "gitlab-eks:tags",
    says: [/has 100000 tags/],
  },
  {
    name: "more than GitLab's 50 runner tags",
    values: runner({ tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }),
    key: "gitlab-eks:runner.tags",
    says: [/lists 51 tags; at most 50 are accepted \(GitLab's limit per runner\)/],
  },
  {
    name: "more than 40 public access CIDRs",
    values: cluster({ publicAccessCidrs: Array.from({ length: 41 }, (_, i) => `10.${i}.0.0/16`) }),
    key: "gitlab-eks:cluster.publicAccessCidrs",
    says: [/at most 40/],
  },
  {
    name: "more than 20 instance types",
    values: { "gitlab-eks:runnerPool": { instanceTypes: Array(21).fill("t3.large") } },
    key: "gitlab-eks:runnerPool.instanceTypes",
    says: [/at most 20/],
  },
  {
    name: "a 5 MB runner description",
    values: runner({ description: "x".repeat(5 * 1024 * 1024) }),
    key: "gitlab-eks:runner.description",
    says: [/is 5242880 characters; at most 1024/],
  },
  // ---- accepted, then broken at deploy time ----
  {
    name: "a Kubernetes namespace that is not a DNS label",
    values: agent({ environment: { kubernetesNamespace: "Bad Namespace!" } }),
    key: "gitlab-eks:agent.environment.kubernetesNamespace",
    says: [/"Bad Namespace!" may contain only lowercase letters/, /RFC 1123/],
  },
  {
    name: "an AWS tag value with a newline",
    values: { "gitlab-eks:tags": { team: "a\nb" } },
    key: "gitlab-eks:tags.team",
    says: [/"a\\nb" is not a valid AWS tag value/],
  },
  {
    name: "an AWS tag value with $(…)",
    values: { "gitlab-eks:tags": { team: "$(curl evil)" } },
    key: "gitlab-eks:tags.team",
    says: [/is not a valid AWS tag value: letters, digits, spaces and _ \. : \/ = \+ - @ only/],
  },
  {
    name: "a tag key this project sets itself",
    values: { "gitlab-eks:tags": { Name: "mine" } },
    key: "gitlab-eks:tags.Name",
    says: [/set by this project or EKS on every resource/],
  },
  {
    name: "an environment name with a newline",
    values: agent({ environment: { name: "prod\nuction" } }),
    key: "gitlab-eks:agent.environment.name",
    says: [/contains a newline/],
  },
  {
    name: "a runner tag with a newline",
    values: runner({ tags: ["eks\nok"] }),
    key: "gitlab-eks:runner.tags[0]",
    says: [/contains a newline/, /--path 'gitlab-eks:runner.tags\[0\]' eks$/],
  },
  {
    name: "a runner tag with a zero-width space",
    values: runner({ tags: ["e\u200bks"] }),
    key: "gitlab-eks:runner.tags[0]",
    says: [/contains U\+200B/, /"e\\u200bks"/],
  },
  {
    name: "runner.image with a zero-width joiner",
    values: runner({ image: "alp\u200dine:3" }),
    key: "gitlab-eks:runner.image",
    says: [/contains U\+200D/],
  },
  {
    name: "runner.image with a right-to-left override",
    values: runner({ image: "alpine:3\u202e" }),
    key: "gitlab-eks:runner.image",
    says: [/contains U\+202E/],
  },
  {
    name: "runner.image with a template",
    values: runner({ image: "{{ .Values.x }}" }),
    key: "gitlab-eks:runner.image",
    says: [/must be an image reference/],
  },
  {
    name: "a public access CIDR with host bits set",
    values: cluster({ publicAccessCidrs: ["203.0.113.7/24"] }),
    key: "gitlab-eks:cluster.publicAccessCidrs[0]",
    says: [/host bits are set/, /Fix: .* 203\.0\.113\.0\/24$/],
  },
  {
    name: "an instance size EC2 does not have",
    values: { "gitlab-eks:runnerPool": { instanceTypes: ["t3.gigantic"] } },
    key: "gitlab-eks:runnerPool.instanceTypes[0]",
    says: [/t3 has no size "gigantic"/, /did you mean t3\.large\?/],
  },
  {
    name: "an instance family EC2 does not have",
    values: { "gitlab-eks:runnerPool": { instanceTypes: ["zz9.large"] } },
    key: "gitlab-eks:runnerPool.instanceTypes[0]",
    says: [/"zz9" is not an EC2 instance family/],
  },
  {
    name: "a misspelt family",
    values: { "gitlab-eks:systemPool": { instanceTypes: ["m7x.large"] } },
    key: "gitlab-eks:systemPool.instanceTypes[0]",
    says: [/did you mean m7\w+\.large\?/],
  },
  ...["gitlab-eks:gitlab.agentProject", "gitlab-eks:runner.project"].flatMap((key) =>
    [".", "..", "group/..", "group/app.git"].map((ref) => ({
      name: `${key} ${JSON.stringify(ref)}`,
      values:
        key === "gitlab-eks:runner.project"
          ? { "gitlab-eks:runner": { project: ref } }
          : { "gitlab-eks:gitlab": { agentProject: ref } },
      key,
      says: [/must be a (GitLab )?project path/],
    })),
  ),
  {
    name: "a ciAccess project ..",
    values: agent({ ciAccess: { projects: [{ id: ".." }] } }),
    key: "gitlab-eks:agent.ciAccess.projects[0].id",
    says: [/must be a project or group path/],
  },
  {
    name: "gitlab.url with a Helm template",
    values: {
      "gitlab-eks:gitlab": { agentProject: "platform/clusters", url: "https://{{ .Release.Name }}" },
    },
    key: "gitlab-eks:gitlab.url",
    says: [/must be the https URL/],
  },
  // ---- wrong answers and silently dropped settings ----
  {
    name: "a1 (Graviton) together with an x86_64 type",
    values: { "gitlab-eks:runnerPool": { instanceTypes: ["a1.large", "t3.large"] } },
    key: "gitlab-eks:runnerPool.instanceTypes",
    says: [/mixes arm64 \(Graviton\) and x86_64/],
  },
  {
    name: "a namespace one edit away (gitlab-ekz)",
    values: { "gitlab-ekz:runnerPool": { minSize: 1 } },
    key: "gitlab-ekz:runnerPool",
    says: [/nothing reads it: did you mean gitlab-eks:runnerPool\?/],
  },
  {
    name: "a namespace one edit away (gitlab_eks)",
    values: { "gitlab_eks:runner": { group: "platform" } },
    key: "gitlab_eks:runner",
    says: [/did you mean gitlab-eks:runner\?/],
  },
  // ---- several agents (gitlab-eks:agents) ----
  {
    name: "agent and agents both set",
    values: { ...agent({ name: "one" }), ...agents([{ name: "two" }]) },
    key: "gitlab-eks:agents",
    says: [/is set together with gitlab-eks:agent/, /first entry of gitlab-eks:agents/],
  },
  {
    name: "an empty agents list",
    values: agents([]),
    key: "gitlab-eks:agents",
    says: [/is an empty list/, /gitlab-eks:agent\.enabled false/],
  },
  {
    name: "two agents of one name",
    values: agents([{ name: "apps" }, { name: "apps", namespace: "other" }]),
    key: "gitlab-eks:agents[1].name",
    says: [/the name apps/, /as gitlab-eks:agents\[0\] has/],
  },
  {
    // Its token Secret (<releaseName>-token by default) is the same too: one problem, as one change fixes both.
    name: "two agents in one namespace with one release name",
    values: agents([{}, { name: "apps", namespace: "gitlab-agent", releaseName: "gitlab-agent" }]),
    key: "gitlab-eks:agents[1].releaseName",
    says: [/Helm release gitlab-agent in namespace gitlab-agent/, /gitlab-eks:agents\[0\]/],
  },
  {
    name: "two agents in one namespace with one token Secret",
    values: agents([
      {},
      { name: "apps", namespace: "gitlab-agent", releaseName: "apps", tokenSecretName: "gitlab-agent-token" },
    ]),
    key: "gitlab-eks:agents[1].tokenSecretName",
    says: [/the token Secret gitlab-agent-token in namespace gitlab-agent/],
  },
  {
    name: "two agents with one environment of one project",
    values: agents([{}, { name: "apps", environment: { name: "dev" } }]),
    key: "gitlab-eks:agents[1].environment.name",
    says: [/environment dev of project platform\/clusters/],
  },
  {
    name: "a Flux folder inside another agent's",
    values: agents([
      { installMethod: "flux", flux: { manifestPath: ".gitlab/flux/one" } },
      { name: "apps", installMethod: "flux", flux: { manifestPath: ".gitlab/flux/one/apps" } },
    ]),
    key: "gitlab-eks:agents[1].flux.manifestPath",
    says: [/overlaps gitlab-eks:agents\[0\]\.flux\.manifestPath/, /\.gitlab\/flux\/apps/],
  },
  {
    name: "two Flux agents naming different Flux namespaces",
    values: agents([
      { installMethod: "flux" },
      { name: "apps", installMethod: "flux", flux: { namespace: "flux-two" } },
    ]),
    key: "gitlab-eks:agents[1].flux.namespace",
    says: [/is flux-two but gitlab-eks:agents\[0\]\.flux\.namespace is flux-system/, /one Flux/],
  },
  {
    name: "an agent after the first without a name",
    values: agents([{}, { namespace: "apps" }]),
    key: "gitlab-eks:agents[1].name",
    says: [/every agent after the first needs its own name/],
  },
  // ---- how values are reported ----
  {
    name: ".nan",
    values: { "gitlab-eks:runnerPool": { maxSize: NaN } },
    key: "gitlab-eks:runnerPool.maxSize",
    says: [/got \.nan \(not a number\)/],
    not: [/got null/],
  },
  {
    name: "an empty isolation label value",
    values: { "gitlab-eks:isolation": { labelValue: "" } },
    key: "gitlab-eks:isolation.labelValue",
    says: [/is empty; the isolation label needs a value/],
    not: [/label value: is empty/],
  },
];

describe("bad and odd inputs (validation matrix)", () => {
  for (const c of CASES) {
    it(c.name, () => {
      const problems = problemsOf(minimal(c.values));
      assert.equal(problems.length, 1, `expected one problem, got:\n${problems.join("\n")}`);
      const [p] = problems;
      assert.ok(p.startsWith(`${c.key}: `), `expected it to be about ${c.key}: ${p.slice(0, 300)}`);
      for (const re of c.says) assert.match(p.slice(0, 2000), re);
      for (const re of c.not ?? []) assert.doesNotMatch(p, re);
      assert.match(p, /Fix: /, "every problem says how to fix it");
      assert.ok(!/\n|\u200b|\u200d|\u202e/.test(p), "printed escaped, on one line");
      assert.ok(p.length < 3000, "a value is never echoed in full when it is huge");
    });
  }

  it("a1 is arm64: a Graviton-only pool gets the arm64 AMI", () => {
    assert.equal(architectureOf("a1.large"), "arm64");
    const c = configOf(minimal({ "gitlab-eks:runnerPool": { instanceTypes: ["a1.large", "m7g.large"] } }));
    assert.equal(desiredNodePools(c)[1].amiType, "AL2023_ARM_64_STANDARD");
  });

  it("the instance table knows the common families and the types the examples use", () => {
    for (const t of [
      "t3.medium",
      "t3a.medium",
      "t3.large",
      "m7g.2xlarge",
      "c6in.metal",
      "m7i-flex.large",
      "g5.xlarge",
    ])
      assert.equal(instanceTypeProblem(t), undefined, t);
    assert.ok(EC2_FAMILIES.size > 100);
    for (const [family, { arch }] of EC2_FAMILIES)
      if (/^[a-z]+\d+[a-z]*g[a-z]*$/.test(family) || family === "a1") assert.equal(arch, "arm64", family);
  });

  it("reports format problems and the cross-key rules of readable values in one run", () => {
    const problems = problemsOf(
      minimal({
        "gitlab-eks:runnerPool": { instanceTypes: ["t3.gigantic"], minSize: 4, maxSize: 2 },
        "gitlab-eks:tags": { team: "a\nb" },
      }),
    );
    assert.equal(problems.length, 3, problems.join("\n"));
    assert.ok(problems.some((p) => p.startsWith("gitlab-eks:runnerPool.instanceTypes[0]: ")));
    assert.ok(problems.some((p) => p.startsWith("gitlab-eks:runnerPool.minSize: (4) is greater than")));
    assert.ok(problems.some((p) => p.startsWith("gitlab-eks:tags.team: ")));
  });

  it("counts secure values as set offline, whatever type they stand for", () => {
    const r = validateStackConfig({
      project: "gitlab-eks",
      stack: "dev",
      values: minimal({
        "gitlab-eks:runnerPool": { maxSize: SECRET_PLACEHOLDER },
        "gitlab-eks:agent": { noProxy: SECRET_PLACEHOLDER },
        "gitlab-eks:isolation": { labelValue: SECRET_PLACEHOLDER },
      }),
      env: {},
    });
    assert.deepEqual(r.ok ? [] : r.problems.map(formatProblem), []);
    assert.deepEqual(r.unchecked.sort(), [
      "gitlab-eks:isolation.labelValue",
      "gitlab-eks:runnerPool.maxSize",
    ]);
  });

  it("counts a secure value inside an agents entry as set offline, under that entry's key", () => {
    const r = validateStackConfig({
      project: "gitlab-eks",
      stack: "dev",
      values: minimal({
        "gitlab-eks:agents": [{}, { name: "apps", kasCaCert: SECRET_PLACEHOLDER }],
      }),
      env: {},
    });
    assert.deepEqual(r.ok ? [] : r.problems.map(formatProblem), []);
    assert.deepEqual(r.unchecked, ["gitlab-eks:agents[1].kasCaCert"]);
  });

  it("prints a key with a newline escaped, so it cannot forge an ok line", () => {
    const problems = problemsOf(minimal({ "gitlab-eks:cluster\nok": {} }));
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^gitlab-eks:cluster\\nok: unknown setting/);
  });
});

describe("secure values and unknown settings", () => {
  it("still refuses an unknown setting whose value is secure", () => {
    const problems = problemsOf(minimal({ "gitlab-eks:runnerPool": { maxSzie: SECRET_PLACEHOLDER } }));
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(
      problems[0],
      /^gitlab-eks:runnerPool\.maxSzie: unknown setting; it is not read: did you mean maxSize\?/,
    );
  });
});
