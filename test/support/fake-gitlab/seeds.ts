import {
  FakeUser,
  FakeToken,
  FakeJobToken,
  FakeGroup,
  FakeRepoFile,
  FakeBranch,
  FakeProject,
  FakeAgent,
  FakeAgentToken,
  FakeDeployToken,
  FakeEnvironment,
  FakeDeployment,
  FakeRunner,
  FakeMergeRequest,
  FakeIssue,
  FakeNote,
} from "./types";
import { now, sha1Hex, randomToken, gitBlobId } from "./http";
import type { Core } from "./core";
import type { FakeGitlab } from "./api";

/** The seeding helpers of FakeGitlab: they write `state` directly, and nothing is logged. */
export type SeedHelpers = Omit<
  FakeGitlab,
  | "url"
  | "state"
  | "requests"
  | "close"
  | "failNext"
  | "answerLate"
  | "loseAnswer"
  | "failAfterApplying"
  | "stall"
  | "pendingFaults"
  | "clearFaults"
  | "requestsMatching"
  | "countRequests"
  | "mutatingRequests"
  | "countMutatingRequests"
  | "clearRequests"
>;

export function createSeeds(core: Core): SeedHelpers {
  const { state, nextId, nextIid, projectById, groupById, pushed, envSlug, guessTier } = core;
  const seeds: SeedHelpers = {
    addUser(input) {
      const u: FakeUser = {
        id: nextId("user"),
        username: input.username,
        name: input.name ?? input.username,
        email: input.email ?? `${input.username}@example.com`,
        isAdmin: input.isAdmin ?? false,
        bot: input.bot ?? false,
        state: "active",
        createdAt: now(),
      };
      state.users.push(u);
      return u;
    },
    addToken(input) {
      const t: FakeToken = {
        id: nextId("token"),
        token: input.token ?? `glpat-${randomToken(20)}`,
        name: input.name ?? "test-token",
        description: null,
        userId: input.userId,
        scopes: [...input.scopes],
        revoked: input.revoked ?? false,
        expiresAt: input.expiresAt ?? null,
        createdAt: now(),
        lastUsedAt: null,
      };
      state.tokens.push(t);
      return t;
    },
    addJobToken(input) {
      const j: FakeJobToken = {
        token: input.token ?? `glcbt-${randomToken(24)}`,
        jobId: nextId("job"),
        userId: input.userId,
        projectId: input.projectId,
      };
      state.jobTokens.push(j);
      return j;
    },
    addGroup(input) {
      const g: FakeGroup = {
        id: nextId("namespace"),
        name: input.name ?? input.path,
        path: input.path,
        parentId: input.parentId ?? null,
        description: "",
        visibility: input.visibility ?? "private",
        members: { ...(input.members ?? {}) },
        createdAt: now(),
      };
      state.groups.push(g);
      return g;
    },
    addProject(input) {
      const defaultBranch = input.defaultBranch ?? "main";
      const seed = sha1Hex();
      const p: FakeProject = {
        id: nextId("project"),
        name: input.name ?? input.path,
        path: input.path,
        groupId: input.groupId ?? null,
        ownerUserId: input.ownerUserId ?? null,
        description: input.description ?? "",
        visibility: input.visibility ?? "private",
        defaultBranch,
        members: { ...(input.members ?? {}) },
        jobTokenAllowlist: [],
        branches: { [defaultBranch]: { name: defaultBranch, commitId: seed, protected: true } },
        files: { [defaultBranch]: {} },
        createdAt: now(),
      };
      if (p.groupId === null && p.ownerUserId === null)
        throw new Error("fake-gitlab: addProject needs groupId or ownerUserId");
      state.projects.push(p);
      return p;
    },
    setMember(target, userId, lvl) {
      if ("projectId" in target) {
        const p = projectById(target.projectId);
        if (!p) throw new Error(`fake-gitlab: no project ${target.projectId}`);
        p.members[userId] = lvl;
      } else {
        const g = groupById(target.groupId);
        if (!g) throw new Error(`fake-gitlab: no group ${target.groupId}`);
        g.members[userId] = lvl;
      }
    },
    addBranch(projectId, name, opts = {}) {
      const p = projectById(projectId);
      if (!p) throw new Error(`fake-gitlab: no project ${projectId}`);
      const from = opts.from ?? p.defaultBranch;
      const src = p.branches[from];
      const b: FakeBranch = {
        name,
        commitId: src ? src.commitId : sha1Hex(),
        protected: opts.protected ?? false,
      };
      p.branches[name] = b;
      p.files[name] = { ...(p.files[from] ?? {}) };
      return b;
    },
    pushCommit(projectId, branch, sha) {
      const p = projectById(projectId);
      if (!p) throw new Error(`fake-gitlab: no project ${projectId}`);
      if (!p.branches[branch]) seeds.addBranch(projectId, branch);
      return pushed(p, branch, "Pushed", [p.branches[branch].commitId], sha);
    },
    putFile(projectId, branch, filePath, content) {
      const p = projectById(projectId);
      if (!p) throw new Error(`fake-gitlab: no project ${projectId}`);
      if (!p.branches[branch]) seeds.addBranch(projectId, branch);
      const buf = Buffer.isBuffer(content) ? content : Buffer.from(content, "utf8");
      const f: FakeRepoFile = {
        content: buf,
        blobId: gitBlobId(buf),
        lastCommitId: p.branches[branch].commitId,
        executeFilemode: false,
      };
      (p.files[branch] ??= {})[filePath] = f;
      return f;
    },
    readFile(projectId, branch, filePath) {
      return projectById(projectId)?.files[branch]?.[filePath]?.content.toString("utf8");
    },
    addAgent(input) {
      const a: FakeAgent = {
        id: nextId("agent"),
        projectId: input.projectId,
        name: input.name,
        createdAt: now(),
        createdByUserId: input.createdByUserId ?? null,
      };
      state.agents.push(a);
      return a;
    },
    addDeployToken(input) {
      const id = nextId("deployToken");
      const t: FakeDeployToken = {
        id,
        projectId: input.projectId,
        name: input.name,
        username: `gitlab+deploy-token-${id}`,
        scopes: input.scopes ?? ["read_repository"],
        expiresAt: null,
        revoked: false,
        token: `gldt-${randomToken(20)}`,
        createdAt: now(),
      };
      state.deployTokens.push(t);
      return t;
    },
    addAgentToken(input) {
      const t: FakeAgentToken = {
        id: nextId("agentToken"),
        agentId: input.agentId,
        name: input.name,
        description: input.description ?? null,
        status: input.status ?? "active",
        token: `glagent-${randomToken(50)}`,
        createdAt: now(),
        createdByUserId: null,
        lastUsedAt: input.lastUsedAt ?? null,
      };
      state.agentTokens.push(t);
      return t;
    },
    addEnvironment(input) {
      const ts = now();
      const e: FakeEnvironment = {
        slug: envSlug(input.name),
        description: null,
        externalUrl: null,
        tier: guessTier(input.name),
        state: "available",
        clusterAgentId: null,
        kubernetesNamespace: null,
        fluxResourcePath: null,
        autoStopSetting: "always",
        autoStopAt: null,
        createdAt: ts,
        updatedAt: ts,
        ...input,
        id: nextId("environment"),
      };
      state.environments.push(e);
      return e;
    },
    addDeployment(input) {
      const env =
        state.environments.find((e) => e.projectId === input.projectId && e.name === input.environment) ??
        seeds.addEnvironment({ projectId: input.projectId, name: input.environment });
      const ts = now();
      const status = input.status ?? "success";
      const d: FakeDeployment = {
        id: nextId("deployment"),
        iid: nextIid("deployment", input.projectId),
        projectId: input.projectId,
        environmentId: env.id,
        sha: input.sha,
        ref: input.ref,
        status,
        createdAt: ts,
        updatedAt: ts,
        finishedAt: ["success", "failed", "canceled"].includes(status) ? ts : null,
      };
      state.deployments.push(d);
      return d;
    },
    addRunner(input) {
      const typeNumber = { instance_type: 1, group_type: 2, project_type: 3 }[input.runnerType];
      const r: FakeRunner = {
        name: null,
        description: "",
        tagList: [],
        runUntagged: true,
        locked: false,
        accessLevel: "not_protected",
        maximumTimeout: null,
        paused: false,
        maintenanceNote: null,
        projectIds: [],
        groupId: null,
        creatorId: null,
        token: `glrt-t${typeNumber}_${randomToken(20)}`,
        tokenExpiresAt: null,
        contactedAt: null,
        createdAt: now(),
        ...input,
        id: nextId("runner"),
      };
      state.runners.push(r);
      return r;
    },
    mergeMergeRequest(projectId, iid) {
      const p = projectById(projectId);
      const mr = state.mergeRequests.find((m) => m.projectId === projectId && m.iid === iid);
      if (!p || !mr || mr.state !== "opened") throw new Error(`fake-gitlab: no open merge request !${iid}`);
      const c = pushed(p, mr.targetBranch, `Merge branch '${mr.sourceBranch}' into '${mr.targetBranch}'`, [
        p.branches[mr.targetBranch].commitId,
        mr.sha ?? p.branches[mr.sourceBranch].commitId,
      ]);
      Object.assign(mr, { state: "merged", mergedAt: now(), updatedAt: now() });
      if (mr.removeSourceBranch) {
        delete p.branches[mr.sourceBranch];
        delete p.files[mr.sourceBranch];
      }
      return c;
    },
    addMergeRequest(input) {
      const ts = now();
      const mr: FakeMergeRequest = {
        description: null,
        state: "opened",
        labels: [],
        assigneeIds: [],
        reviewerIds: [],
        squash: false,
        removeSourceBranch: false,
        sha: null,
        createdAt: ts,
        updatedAt: ts,
        closedAt: null,
        mergedAt: null,
        ...input,
        id: nextId("mergeRequest"),
        iid: nextIid("mr", input.projectId),
      };
      state.mergeRequests.push(mr);
      return mr;
    },
    addIssue(input) {
      const ts = now();
      const issue: FakeIssue = {
        description: null,
        state: "opened",
        labels: [],
        assigneeIds: [],
        confidential: false,
        createdAt: ts,
        updatedAt: ts,
        closedAt: null,
        closedById: null,
        ...input,
        id: nextId("issue"),
        iid: nextIid("issue", input.projectId),
      };
      state.issues.push(issue);
      return issue;
    },
    addNote(input) {
      const target =
        input.noteableType === "MergeRequest"
          ? state.mergeRequests.find((m) => m.projectId === input.projectId && m.iid === input.noteableIid)
          : state.issues.find((i) => i.projectId === input.projectId && i.iid === input.noteableIid);
      if (!target) throw new Error(`fake-gitlab: no ${input.noteableType} !${input.noteableIid}`);
      const ts = now();
      const note: FakeNote = {
        id: nextId("note"),
        projectId: input.projectId,
        noteableType: input.noteableType,
        noteableId: target.id,
        noteableIid: input.noteableIid,
        body: input.body,
        authorId: input.authorId,
        system: input.system ?? false,
        internal: false,
        createdAt: ts,
        updatedAt: ts,
      };
      state.notes.push(note);
      return note;
    },
    commitsFor(projectId, branch) {
      return state.commits.filter(
        (c) => c.projectId === projectId && (branch === undefined || c.branch === branch),
      );
    },
  };
  return seeds;
}
