import { AccessLevel, FakeAgent } from "./types";
import { notFound, badRequest, now, requireParams, pStr, ok, created, noContent } from "./http";
import type { Core } from "./core";

/** Cluster agents (lib/api/clusters/agents.rb). */
export function registerAgents(core: Core): void {
  const { state, nextId, userProject, level, authorize, route, agentEntity, paginate, findAgent } = core;
  // --- cluster agents (lib/api/clusters/agents.rb) ------------------------------------------
  const AGENT_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
  route("GET", "/projects/:id/cluster_agents", (ctx) => {
    const p = userProject(ctx);
    if (level(ctx, p) < AccessLevel.DEVELOPER) throw notFound("ClusterAgents");
    const agents = state.agents
      .filter((a) => a.projectId === p.id)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id));
    return ok(paginate(ctx, agents).map(agentEntity));
  });
  route(
    "GET",
    "/projects/:id/cluster_agents/:agent_id",
    (ctx) => ok(agentEntity(findAgent(ctx, userProject(ctx)))),
    {
      intParams: ["agent_id"],
    },
  );
  route("POST", "/projects/:id/cluster_agents", (ctx) => {
    requireParams(ctx.params, "name");
    const name = pStr(ctx.params, "name") ?? "";
    const p = userProject(ctx);
    authorize(level(ctx, p) >= AccessLevel.MAINTAINER); // :create_cluster
    // app/models/clusters/agent.rb validations, in declaration order.
    const errors: string[] = [];
    if (name.trim() === "") errors.push("Name can't be blank");
    if (name.length > 63) errors.push("Name is too long (maximum is 63 characters)");
    if (state.agents.some((a) => a.projectId === p.id && a.name === name))
      errors.push("Name has already been taken");
    if (!AGENT_NAME_RE.test(name))
      errors.push(
        "Name can contain only lowercase letters, digits, and '-', but cannot start or end with '-'",
      );
    if (errors.length) throw badRequest(errors);
    const agent: FakeAgent = {
      id: nextId("agent"),
      projectId: p.id,
      name,
      createdAt: now(),
      createdByUserId: ctx.auth!.user.id,
    };
    state.agents.push(agent);
    return created(agentEntity(agent));
  });
  route(
    "DELETE",
    "/projects/:id/cluster_agents/:agent_id",
    (ctx) => {
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.MAINTAINER); // :admin_cluster
      const a = findAgent(ctx, p);
      state.agents = state.agents.filter((x) => x.id !== a.id);
      const tokenIds = new Set(state.agentTokens.filter((t) => t.agentId === a.id).map((t) => t.id));
      state.agentTokens = state.agentTokens.filter((t) => !tokenIds.has(t.id));
      state.urlConfigurations = state.urlConfigurations.filter((c) => c.agentId !== a.id);
      for (const e of state.environments) if (e.clusterAgentId === a.id) e.clusterAgentId = null;
      return noContent();
    },
    { intParams: ["agent_id"] },
  );
}
