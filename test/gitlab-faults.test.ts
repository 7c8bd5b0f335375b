/**
 * Every GitLab object the stack and the CI helper create, driven through the faults real GitLab
 * installations produce (the fake's fault layer): a connection closed after the request was applied, a
 * proxy answering 500/502/504 after the backend committed, a 500 before applying, a 429 storm, a 503 with
 * Retry-After, and the same fault twice in a row (the run fails). Each case: the faulted run, a re-run with
 * the state the faulted run left, then destroy; counts asserted on the fake after convergence and after
 * destroy, and no token value in any output. The real dynamic providers and the real infra/gitlab module
 * run through gitbeaker over HTTP.
 */
import assert from "node:assert/strict";
import { receptiveUrlProvider, repositoryFileProvider } from "../infra/cloud/gitlab/agentResources";
import { gitlabRunnerProvider } from "../infra/cloud/gitlab/runnerResource";
import { gitlabClient } from "../infra/gitlab/client";
import { resolveConnection } from "../infra/gitlab/connection";
import { closeIssue, upsertIssue } from "../infra/gitlab/issues";
import { upsertMergeRequestNote } from "../infra/gitlab/mergeRequestNotes";
import { promoteCommit } from "../infra/gitlab/promotion";
import {
  agentObjects,
  assertFaultedRun,
  destroyOf,
  FAULT_OWNER as OWNER,
  FAULT_PROJECT as PROJECT,
  FAULTS,
  faultWorld,
  type Match,
  pulumiUpOf,
  type StackObjects,
  type State,
} from "./support/faults";
import { TLS_CERT } from "./support/fake-kube";

/** A real certificate (GitLab validates ca_cert), standing in for the CA of the agent's endpoint. */
const AGENT_CA = TLS_CERT.toString("utf8");
const HEADER = `# Managed by gitlab-eks [gitlab-eks:${OWNER}]: Pulumi project and stack.\n`;

describe("GitLab objects through lost and ambiguous answers: faulted run, re-run, destroy", () => {
  const fw = faultWorld((w) => (w.fake.state.instance.receptiveAgentsEnabled = true));

  /** The stack's GitLab objects in the program's order: [name, provider, inputs]. */
  const stack = (s: Record<string, State>, rotation = "initial"): StackObjects => {
    const objects = agentObjects(fw, s, rotation);
    return [
      [
        "file",
        repositoryFileProvider,
        () => ({
          target: fw.target,
          project: PROJECT,
          path: ".gitlab/agents/prod/config.yaml",
          content: `${HEADER}ci_access: {}\n`,
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
          url: "grpcs://agent.example.com:443",
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
          project: PROJECT,
          description: "gitlab-eks-production",
          tags: ["eks"],
          runUntagged: false,
          locked: true,
          accessLevel: "not_protected",
          paused: false,
          owner: OWNER,
        }),
      ],
    ];
  };

  /** One `pulumi up`: stops at the first failure, keeping the state of what succeeded. */
  const pulumiUp = (s: Record<string, State>, rotation?: string) =>
    pulumiUpOf(stack(s, rotation), s, fw.output);
  const destroy = (s: Record<string, State>) => destroyOf(stack(s), s);

  const agentTokens = () => fw.w.fake.state.agentTokens.filter((t) => t.status === "active");
  const stackRunners = () =>
    fw.w.fake.state.runners.filter((r) => r.description.includes(`[gitlab-eks:${OWNER}]`));

  function assertConverged(s: Record<string, State>) {
    assert.equal(fw.w.fake.state.agents.length, 1, "one agent");
    assert.deepEqual(
      agentTokens().map((t) => t.id),
      [s.token.outs.tokenId],
      "one active token, the one state holds",
    );
    assert.equal(fw.w.fake.state.environments.length, 1, "one environment");
    assert.equal(fw.w.fake.state.urlConfigurations.length, 1, "one URL configuration");
    assert.deepEqual(
      [fw.w.fake.state.urlConfigurations[0].caCert, fw.w.fake.state.urlConfigurations[0].tlsHost],
      [AGENT_CA, "agentk.internal.example.com"],
      "with its TLS settings",
    );
    assert.deepEqual(
      stackRunners().map((r) => r.id),
      [s.runner.outs.runnerId],
      "one runner of this stack, the one state holds",
    );
    assert.equal(fw.w.fake.state.runners.length, 1);
    for (const k of ["file", "agent", "environment", "receptiveUrl"])
      assert.equal(s[k].outs.adopted, false, `${k} is this stack's own, so destroy deletes it`);
  }

  function assertDestroyed() {
    assert.equal(fw.w.fake.state.agents.length, 0, "agent deleted");
    assert.equal(agentTokens().length, 0, "no active token");
    assert.equal(fw.w.fake.state.environments.length, 0, "environment deleted");
    assert.equal(fw.w.fake.state.urlConfigurations.length, 0);
    assert.equal(fw.w.fake.state.runners.length, 0, "no runner left");
    assert.equal(fw.w.fake.readFile(fw.w.clustersId, "main", ".gitlab/agents/prod/config.yaml"), undefined);
  }

  function assertNoSecretIn(s: Record<string, State>) {
    const secrets = [fw.w.maintainerToken, s.token?.outs.token, s.runner?.outs.token].filter(Boolean);
    const text = [...fw.output, JSON.stringify(fw.w.fake.requests)].join("\n");
    for (const secret of secrets) assert.ok(!text.includes(secret), "a token value in the output");
    assert.ok(!/glpat-|glagent-|glrt-/.test(text), "a token-shaped value in the output");
  }

  /** [object, its create, whether it is created again (token lost) rather than found after a lost answer] */
  const CREATES: [string, Match, boolean][] = [
    ["config file", { method: "POST", pathPattern: /repository\/files\// }, false],
    ["agent", { method: "POST", pathPattern: /cluster_agents$/ }, false],
    ["agent token", { method: "POST", pathPattern: /\/tokens$/ }, true],
    ["environment", { method: "POST", pathPattern: /environments$/ }, false],
    ["receptive URL configuration", { method: "POST", pathPattern: /url_configurations$/ }, false],
    ["runner", { method: "POST", pathPattern: /\/user\/runners$/ }, true],
  ];

  for (const [object, match, recreated] of CREATES)
    describe(`${object}: creating it`, () => {
      for (const fault of FAULTS)
        it(fault.name, async () => {
          const s: Record<string, State> = {};
          fault.inject(fw.w.fake, match);
          assertFaultedRun(fw.w.fake, await pulumiUp(s), fault, recreated, match);
          assert.equal(await pulumiUp(s), undefined, "the re-run converges");
          assertConverged(s);
          assert.equal(await pulumiUp(s), undefined);
          assertConverged(s);
          await destroy(s);
          assertDestroyed();
          assertNoSecretIn(s);
        });
    });

  describe("agent token: rotating it", () => {
    for (const fault of FAULTS)
      it(fault.name, async () => {
        const s: Record<string, State> = {};
        assert.equal(await pulumiUp(s), undefined);
        const inUse = s.token.outs.tokenId;
        fault.inject(fw.w.fake, { method: "POST", pathPattern: /\/tokens$/ });
        const failed = await pulumiUp(s, "2026-11");
        if (fault.failsTheRun) {
          assert.match(String(failed?.message), /Not resent/);
          assert.equal(s.token.outs.tokenId, inUse, "state still holds the token in use");
          assert.ok(
            agentTokens().some((t) => t.id === inUse),
            "the token the cluster runs on was not revoked",
          );
          assert.ok(agentTokens().length <= 2);
        } else assert.equal(failed, undefined, String(failed?.message));
        assert.equal(await pulumiUp(s, "2026-11"), undefined, "the re-run converges");
        assert.notEqual(s.token.outs.tokenId, inUse);
        assertConverged(s);
        await destroy(s);
        assertDestroyed();
        assertNoSecretIn(s);
      });
  });

  describe("CI helper objects: MR note, promotion branch and MR, drift issue", () => {
    const api = () =>
      gitlabClient(resolveConnection({ url: fw.w.fake.url }, {}), {
        env: { GITLAB_TOKEN: fw.w.maintainerToken },
        sleep: async () => {},
      });
    const ci: [string, Match, () => Promise<unknown>, () => void][] = [
      [
        "MR note",
        { method: "POST", pathPattern: /merge_requests\/\d+\/notes$/ },
        () =>
          upsertMergeRequestNote(
            api(),
            { project: fw.w.clustersId, mergeRequestIid: fw.w.fake.state.mergeRequests[0].iid },
            "<!-- gitlab-eks:preview -->",
            "<!-- gitlab-eks:preview -->\nno changes",
          ),
        () => assert.equal(fw.w.fake.state.notes.filter((n) => !n.system).length, 1, "one note"),
      ],
      [
        "promotion branch",
        { method: "POST", pathPattern: /repository\/branches$/ },
        () => promote(),
        () =>
          assert.equal(fw.w.fake.state.mergeRequests.filter((m) => m.targetBranch === "staging").length, 1),
      ],
      [
        "promotion MR",
        { method: "POST", pathPattern: /merge_requests$/ },
        () => promote(),
        () =>
          assert.equal(
            fw.w.fake.state.mergeRequests.filter((m) => m.targetBranch === "staging").length,
            1,
            "one MR",
          ),
      ],
      [
        "drift issue",
        { method: "POST", pathPattern: /issues$/ },
        () =>
          upsertIssue(api(), {
            project: PROJECT,
            marker: "<!-- gitlab-eks:drift -->",
            labels: ["gitlab-eks-drift"],
            title: "Drift in production",
            description: "<!-- gitlab-eks:drift -->\n1 change",
          }),
        () => assert.equal(fw.w.fake.state.issues.length, 1, "one issue"),
      ],
      [
        "drift issue's closing comment",
        { method: "POST", pathPattern: /issues\/\d+\/notes$/ },
        async () => {
          const lookup = { project: PROJECT, marker: "<!-- m -->", labels: ["gitlab-eks-drift"] };
          if (!fw.w.fake.state.issues.length)
            await upsertIssue(api(), { ...lookup, title: "Drift", description: "<!-- m -->\nx" });
          await closeIssue(api(), lookup, "No drift any more.");
        },
        () =>
          assert.equal(
            fw.w.fake.state.notes.filter((n) => !n.system && n.body === "No drift any more.").length,
            1,
            "one comment",
          ),
      ],
    ];
    const promote = () => {
      const sha = fw.w.fake.state.projects.find((p) => p.id === fw.w.clustersId)!.branches.main.commitId;
      return promoteCommit(api(), {
        project: fw.w.clustersId,
        sha,
        promotionBranch: "gitlab-eks/promote/main-to-staging",
        targetBranch: "staging",
        title: "Promote main to staging",
        description: "d",
      });
    };

    beforeEach(() => {
      const bot = fw.w.fake.state.users.find((u) => u.username === "platform-bot")!;
      fw.w.fake.addBranch(fw.w.clustersId, "staging", { protected: true });
      fw.w.fake.pushCommit(fw.w.clustersId, "main");
      fw.w.fake.addMergeRequest({
        projectId: fw.w.clustersId,
        sourceBranch: "feature",
        targetBranch: "main",
        title: "t",
        authorId: bot.id,
      });
    });

    for (const [object, match, run, assertOne] of ci)
      describe(object, () => {
        for (const fault of FAULTS)
          it(fault.name, async () => {
            fault.inject(fw.w.fake, match);
            const failed = await run().then(
              () => undefined,
              (e: Error) => e,
            );
            fw.output.push(String(failed?.message ?? ""));
            assertFaultedRun(fw.w.fake, failed, fault, false, match);
            await run(); // the re-run (the next pipeline)
            assertOne();
            await run();
            assertOne();
            assertNoSecretIn({});
          });
      });
  });
});
