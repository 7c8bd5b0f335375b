import { AccessLevel, FakeAgentToken } from "./types";
import {
  recordNotFound,
  badRequest,
  now,
  randomToken,
  requireParams,
  pStr,
  ok,
  created,
  noContent,
} from "./http";
import type { Core } from "./core";

/** Agent tokens (lib/api/clusters/agent_tokens.rb). */
export function registerAgentTokens(core: Core): void {
  const { state, nextId, userProject, level, authorize, route, agentTokenBasic, paginate, findAgent } = core;
  // --- agent tokens (lib/api/clusters/agent_tokens.rb) --------------------------------------
  const activeTokens = (agentId: number): FakeAgentToken[] =>
    state.agentTokens
      .filter((t) => t.agentId === agentId && t.status === "active")
      // has_many :agent_tokens, -> { order_last_used_at_desc }
      .sort((a, b) => {
        if (a.lastUsedAt === b.lastUsedAt) return a.id - b.id;
        if (a.lastUsedAt === null) return 1;
        if (b.lastUsedAt === null) return -1;
        return a.lastUsedAt < b.lastUsedAt ? 1 : -1;
      });
  route(
    "GET",
    "/projects/:id/cluster_agents/:agent_id/tokens",
    (ctx) => {
      const a = findAgent(ctx, userProject(ctx));
      return ok(paginate(ctx, activeTokens(a.id)).map(agentTokenBasic));
    },
    { intParams: ["agent_id"] },
  );
  route(
    "GET",
    "/projects/:id/cluster_agents/:agent_id/tokens/:token_id",
    (ctx) => {
      const a = findAgent(ctx, userProject(ctx));
      const t = state.agentTokens.find((x) => x.id === ctx.route.token_id && x.agentId === a.id);
      if (!t || t.status !== "active") throw recordNotFound();
      return ok({ ...agentTokenBasic(t), last_used_at: t.lastUsedAt });
    },
    { intParams: ["agent_id", "token_id"] },
  );
  route(
    "POST",
    "/projects/:id/cluster_agents/:agent_id/tokens",
    (ctx) => {
      requireParams(ctx.params, "name");
      const name = pStr(ctx.params, "name") ?? "";
      const description = pStr(ctx.params, "description") ?? null;
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.MAINTAINER); // :create_cluster
      const a = findAgent(ctx, p);
      // app/services/clusters/agent_tokens/create_service.rb: ACTIVE_TOKENS_LIMIT = 2
      if (activeTokens(a.id).length >= 2)
        throw badRequest("An agent can have only two active tokens at a time");
      const errors: string[] = [];
      if (description !== null && description.length > 1024)
        errors.push("Description is too long (maximum is 1024 characters)");
      if (name.trim() === "") errors.push("Name can't be blank");
      if (name.length > 255) errors.push("Name is too long (maximum is 255 characters)");
      if (errors.length) throw badRequest(errors);
      const t: FakeAgentToken = {
        id: nextId("agentToken"),
        agentId: a.id,
        name,
        description,
        status: "active",
        token: `glagent-${randomToken(50)}`,
        createdAt: now(),
        createdByUserId: ctx.auth!.user.id,
        lastUsedAt: null,
      };
      state.agentTokens.push(t);
      return created({ ...agentTokenBasic(t), last_used_at: t.lastUsedAt, token: t.token });
    },
    { intParams: ["agent_id"] },
  );
  route(
    "DELETE",
    "/projects/:id/cluster_agents/:agent_id/tokens/:token_id",
    (ctx) => {
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.MAINTAINER); // :admin_cluster
      const a = findAgent(ctx, p);
      const t = state.agentTokens.find((x) => x.id === ctx.route.token_id && x.agentId === a.id);
      if (!t) throw recordNotFound();
      t.status = "revoked"; // revoking a revoked token is still 204
      return noContent();
    },
    { intParams: ["agent_id", "token_id"] },
  );
}
