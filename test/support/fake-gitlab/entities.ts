import {
  AccessLevel,
  FakeUser,
  FakeGroup,
  FakeBranch,
  FakeProject,
  FakeAgent,
  FakeAgentToken,
  FakeUrlConfiguration,
  FakeEnvironment,
  FakeRunner,
  FakeMergeRequest,
  FakeIssue,
  FakeNote,
  FakeCommit,
} from "./types";
import { DRAFT_RE, AuthInfo } from "./http";
import type { Base } from "./core";

/** What the API answers: GitLab's entities (lib/api/entities/*.rb); pagination is in pagination.ts. */
export function createEntities(base: Base) {
  const {
    state,
    userById,
    groupById,
    projectById,
    groupFullPath,
    groupFullName,
    namespaceOf,
    projectFullPath,
    projectFullName,
    groupLevel,
    projectLevel,
    canReadProject,
    canAdminRunner,
    baseUrl,
  } = base;
  // ------------------------------------------------------------------------------------------
  // Entities
  // ------------------------------------------------------------------------------------------

  const userBasic = (u: FakeUser | undefined) =>
    u
      ? {
          id: u.id,
          username: u.username,
          name: u.name,
          state: u.state,
          locked: false,
          avatar_url: null,
          web_url: `${baseUrl()}/${u.username}`,
        }
      : null;

  const projectIdentity = (p: FakeProject) => ({
    id: p.id,
    description: p.description,
    name: p.name,
    name_with_namespace: projectFullName(p),
    path: p.path,
    path_with_namespace: projectFullPath(p),
    created_at: p.createdAt,
  });
  const basicProject = (p: FakeProject) => ({
    ...projectIdentity(p),
    default_branch: p.defaultBranch,
    tag_list: [],
    topics: [],
    ssh_url_to_repo: `git@127.0.0.1:${projectFullPath(p)}.git`,
    http_url_to_repo: `${baseUrl()}/${projectFullPath(p)}.git`,
    web_url: `${baseUrl()}/${projectFullPath(p)}`,
    avatar_url: null,
    star_count: 0,
    last_activity_at: p.createdAt,
    visibility: p.visibility,
    namespace: (({ fullName: _f, ...rest }) => rest)(namespaceOf(p)),
  });
  const projectEntity = (p: FakeProject, auth: AuthInfo) => {
    const direct = p.members[auth.user.id];
    const inherited = groupLevel(auth.user, groupById(p.groupId));
    return {
      ...basicProject(p),
      archived: false,
      empty_repo: Object.keys(p.branches).length === 0,
      creator_id: p.ownerUserId,
      permissions: {
        project_access: direct ? { access_level: direct, notification_level: 3 } : null,
        group_access: inherited ? { access_level: inherited, notification_level: 3 } : null,
      },
    };
  };
  const groupEntity = (g: FakeGroup) => ({
    id: g.id,
    web_url: `${baseUrl()}/groups/${groupFullPath(g)}`,
    name: g.name,
    path: g.path,
    description: g.description,
    visibility: g.visibility,
    full_name: groupFullName(g),
    full_path: groupFullPath(g),
    parent_id: g.parentId,
    created_at: g.createdAt,
    avatar_url: null,
  });
  const agentEntity = (a: FakeAgent) => ({
    id: a.id,
    name: a.name,
    config_project: projectIdentity(projectById(a.projectId)!),
    created_at: a.createdAt,
    created_by_user_id: a.createdByUserId,
  });
  const agentTokenBasic = (t: FakeAgentToken) => ({
    id: t.id,
    name: t.name,
    description: t.description,
    agent_id: t.agentId,
    status: t.status,
    created_at: t.createdAt,
    created_by_user_id: t.createdByUserId,
  });
  const urlConfigEntity = (c: FakeUrlConfiguration) => ({
    id: c.id,
    agent_id: c.agentId,
    url: c.url,
    public_key: c.publicKey,
    client_cert: c.clientCert === null ? null : Buffer.from(c.clientCert).toString("base64"),
    ca_cert: c.caCert === null ? null : Buffer.from(c.caCert).toString("base64"),
    tls_host: c.tlsHost,
  });
  const environmentEntity = (e: FakeEnvironment, withProject = true) => {
    const agent = e.clusterAgentId === null ? undefined : state.agents.find((a) => a.id === e.clusterAgentId);
    return {
      id: e.id,
      name: e.name,
      slug: e.slug,
      description: e.description,
      external_url: e.externalUrl,
      created_at: e.createdAt,
      updated_at: e.updatedAt,
      tier: e.tier,
      ...(withProject ? { project: basicProject(projectById(e.projectId)!) } : {}),
      state: e.state,
      auto_stop_at: e.autoStopAt,
      auto_stop_setting: e.autoStopSetting,
      cluster_agent: agent ? agentEntity(agent) : null,
      kubernetes_namespace: e.kubernetesNamespace,
      flux_resource_path: e.fluxResourcePath,
    };
  };
  const runnerStatus = (r: FakeRunner): string => {
    if (r.contactedAt === null) return "never_contacted";
    if (r.paused) return "paused";
    return Date.now() - Date.parse(r.contactedAt) < 2 * 3600 * 1000 ? "online" : "offline";
  };
  const runnerEntity = (r: FakeRunner) => ({
    id: r.id,
    description: r.description,
    ip_address: null,
    active: !r.paused,
    paused: r.paused,
    is_shared: r.runnerType === "instance_type",
    runner_type: r.runnerType,
    name: r.name,
    online: runnerStatus(r) === "online",
    created_at: r.createdAt,
    status: runnerStatus(r),
    job_execution_status: "idle",
  });
  const runnerDetails = (r: FakeRunner, auth: AuthInfo) => ({
    ...runnerEntity(r),
    tag_list: r.tagList,
    run_untagged: r.runUntagged,
    locked: r.locked,
    maximum_timeout: r.maximumTimeout,
    access_level: r.accessLevel,
    version: null,
    revision: null,
    platform: null,
    architecture: null,
    contacted_at: r.contactedAt,
    maintenance_note: canAdminRunner(auth, r) ? r.maintenanceNote : null,
    projects: r.projectIds
      .map(projectById)
      .filter((p): p is FakeProject => !!p && canReadProject(auth, p))
      .map(basicProject),
    groups:
      r.groupId === null ? [] : [groupById(r.groupId)].filter((g): g is FakeGroup => !!g).map(groupEntity),
  });
  const mrEntity = (mr: FakeMergeRequest) => {
    const p = projectById(mr.projectId)!;
    const full = projectFullPath(p);
    const assignees = mr.assigneeIds.map((id) => userBasic(userById(id))).filter(Boolean);
    const noteCount = state.notes.filter(
      (n) => n.noteableType === "MergeRequest" && n.noteableId === mr.id && !n.system,
    ).length;
    return {
      id: mr.id,
      iid: mr.iid,
      project_id: mr.projectId,
      title: mr.title,
      description: mr.description,
      state: mr.state,
      created_at: mr.createdAt,
      updated_at: mr.updatedAt,
      merged_by: null,
      merge_user: null,
      merged_at: mr.mergedAt,
      closed_by: null,
      closed_at: mr.closedAt,
      target_branch: mr.targetBranch,
      source_branch: mr.sourceBranch,
      user_notes_count: noteCount,
      upvotes: 0,
      downvotes: 0,
      author: userBasic(userById(mr.authorId)),
      assignees,
      assignee: assignees[0] ?? null,
      reviewers: mr.reviewerIds.map((id) => userBasic(userById(id))).filter(Boolean),
      source_project_id: mr.projectId,
      target_project_id: mr.projectId,
      labels: mr.labels,
      draft: DRAFT_RE.test(mr.title),
      work_in_progress: DRAFT_RE.test(mr.title),
      milestone: null,
      merge_when_pipeline_succeeds: false,
      merge_status: "can_be_merged",
      detailed_merge_status: mr.state === "opened" ? "mergeable" : "not_open",
      sha: mr.sha,
      merge_commit_sha: null,
      squash_commit_sha: null,
      discussion_locked: null,
      should_remove_source_branch: null,
      force_remove_source_branch: mr.removeSourceBranch,
      reference: `!${mr.iid}`,
      references: { short: `!${mr.iid}`, relative: `!${mr.iid}`, full: `${full}!${mr.iid}` },
      web_url: `${baseUrl()}/${full}/-/merge_requests/${mr.iid}`,
      time_stats: {
        time_estimate: 0,
        total_time_spent: 0,
        human_time_estimate: null,
        human_total_time_spent: null,
      },
      squash: mr.squash,
      squash_on_merge: mr.squash,
      task_completion_status: { count: 0, completed_count: 0 },
      has_conflicts: false,
      blocking_discussions_resolved: true,
    };
  };
  const issueEntity = (i: FakeIssue) => {
    const p = projectById(i.projectId)!;
    const full = projectFullPath(p);
    const assignees = i.assigneeIds.map((id) => userBasic(userById(id))).filter(Boolean);
    return {
      id: i.id,
      iid: i.iid,
      project_id: i.projectId,
      title: i.title,
      description: i.description,
      state: i.state,
      created_at: i.createdAt,
      updated_at: i.updatedAt,
      closed_at: i.closedAt,
      closed_by: userBasic(userById(i.closedById)),
      labels: i.labels,
      milestone: null,
      assignees,
      author: userBasic(userById(i.authorId)),
      type: "ISSUE",
      assignee: assignees[0] ?? null,
      user_notes_count: state.notes.filter(
        (n) => n.noteableType === "Issue" && n.noteableId === i.id && !n.system,
      ).length,
      merge_requests_count: 0,
      upvotes: 0,
      downvotes: 0,
      due_date: null,
      confidential: i.confidential,
      discussion_locked: null,
      issue_type: "issue",
      web_url: `${baseUrl()}/${full}/-/issues/${i.iid}`,
      time_stats: {
        time_estimate: 0,
        total_time_spent: 0,
        human_time_estimate: null,
        human_total_time_spent: null,
      },
      task_completion_status: { count: 0, completed_count: 0 },
      references: { short: `#${i.iid}`, relative: `#${i.iid}`, full: `${full}#${i.iid}` },
    };
  };
  const noteEntity = (n: FakeNote) => ({
    id: n.id,
    type: null,
    body: n.body,
    attachment: null,
    author: userBasic(userById(n.authorId)),
    created_at: n.createdAt,
    updated_at: n.updatedAt,
    system: n.system,
    noteable_id: n.noteableId,
    noteable_type: n.noteableType,
    project_id: n.projectId,
    resolvable: false,
    confidential: n.internal,
    internal: n.internal,
    imported: false,
    imported_from: "none",
    noteable_iid: n.noteableIid,
    commands_changes: {},
  });
  const commitEntity = (c: FakeCommit) => {
    const p = projectById(c.projectId)!;
    const title = c.message.split("\n")[0];
    return {
      id: c.id,
      short_id: c.id.slice(0, 8),
      created_at: c.createdAt,
      parent_ids: c.parentIds,
      title,
      message: c.message,
      author_name: c.authorName,
      author_email: c.authorEmail,
      authored_date: c.createdAt,
      committer_name: c.authorName,
      committer_email: c.authorEmail,
      committed_date: c.createdAt,
      trailers: {},
      extended_trailers: {},
      web_url: `${baseUrl()}/${projectFullPath(p)}/-/commit/${c.id}`,
      stats: { additions: 0, deletions: 0, total: 0 },
      status: null,
      project_id: c.projectId,
      last_pipeline: null,
    };
  };
  const branchEntity = (p: FakeProject, b: FakeBranch, auth: AuthInfo) => {
    const c = state.commits.find((x) => x.id === b.commitId);
    return {
      name: b.name,
      commit: c
        ? (({ web_url, id, short_id, created_at, parent_ids, title, message }) => ({
            id,
            short_id,
            created_at,
            parent_ids,
            title,
            message,
            web_url,
          }))(commitEntity(c))
        : { id: b.commitId, short_id: b.commitId.slice(0, 8), title: "Seeded", message: "Seeded" },
      merged: false,
      protected: b.protected,
      developers_can_push: !b.protected,
      developers_can_merge: !b.protected,
      can_push: projectLevel(auth.user, p) >= (b.protected ? AccessLevel.MAINTAINER : AccessLevel.DEVELOPER),
      default: b.name === p.defaultBranch,
      web_url: `${baseUrl()}/${projectFullPath(p)}/-/tree/${encodeURIComponent(b.name)}`,
    };
  };

  return {
    userBasic,
    projectIdentity,
    basicProject,
    projectEntity,
    groupEntity,
    agentEntity,
    agentTokenBasic,
    urlConfigEntity,
    environmentEntity,
    runnerStatus,
    runnerEntity,
    runnerDetails,
    mrEntity,
    issueEntity,
    noteEntity,
    commitEntity,
    branchEntity,
  };
}
