import { AccessLevel, FakeProject, FakeEnvironment } from "./types";
import {
  apiError,
  grapeError,
  recordNotFound,
  badRequest,
  now,
  has,
  requireParams,
  pStr,
  pInt,
  pBool,
  pValues,
  Ctx,
  ok,
  created,
  noContent,
} from "./http";
import type { Core } from "./core";

/** Environments and deployments (lib/api/environments.rb). */
export function registerEnvironments(core: Core): void {
  const {
    state,
    nextId,
    userProject,
    level,
    authorize,
    readsPublicly,
    TIERS,
    envSlug,
    guessTier,
    route,
    environmentEntity,
    paginate,
  } = core;
  // --- environments (lib/api/environments.rb; job tokens allowed on every route) ------------
  const ENV_NAME_RE = /^[a-zA-Z0-9_\\/${}. -]+$/;
  const findEnv = (ctx: Ctx, p: FakeProject): FakeEnvironment => {
    const e = state.environments.find((x) => x.id === ctx.route.environment_id && x.projectId === p.id);
    if (!e) throw recordNotFound();
    return e;
  };
  const checkEnvAgent = (ctx: Ctx, p: FakeProject, agentId: number | null | undefined): void => {
    if (agentId == null) return;
    const a = state.agents.find((x) => x.id === agentId && x.projectId === p.id);
    if (!a || level(ctx, p) < AccessLevel.DEVELOPER)
      throw badRequest("cluster agent doesn't exist or cannot be associated with this environment");
  };
  const validateEnv = (e: FakeEnvironment, p: FakeProject): void => {
    const errors: Record<string, string[]> = {};
    const add = (k: string, m: string) => (errors[k] ??= []).push(m);
    if (e.name.trim() === "") add("name", "can't be blank");
    if (e.name.length > 255) add("name", "is too long (maximum is 255 characters)");
    if (!ENV_NAME_RE.test(e.name) || e.name.startsWith("/") || e.name.endsWith("/"))
      add(
        "name",
        "can contain only letters, digits, '-', '_', '/', '$', '{', '}', '.', and spaces, but it cannot start or end with '/'",
      );
    if (state.environments.some((x) => x.projectId === p.id && x.id !== e.id && x.name === e.name))
      add("name", "has already been taken");
    if (e.externalUrl) {
      let scheme = "";
      try {
        scheme = new URL(e.externalUrl).protocol;
      } catch {
        scheme = "";
      }
      if (scheme !== "http:" && scheme !== "https:")
        add("external_url", "is blocked: Only allowed schemes are http, https");
    }
    if (e.kubernetesNamespace && e.clusterAgentId === null)
      add("kubernetes_namespace", "cannot be set without a cluster agent");
    if (e.fluxResourcePath && !e.kubernetesNamespace)
      add("flux_resource_path", "cannot be set without a kubernetes namespace");
    if (Object.keys(errors).length) throw apiError(400, errors);
  };
  route(
    "GET",
    "/projects/:id/environments",
    (ctx) => {
      const name = pStr(ctx.params, "name");
      const search = pStr(ctx.params, "search");
      const states = pValues(ctx.params, "states", ["available", "stopping", "stopped"] as const);
      if (has(ctx.params, "name") && has(ctx.params, "search"))
        throw grapeError("name, search cannot be used together");
      const p = userProject(ctx);
      authorize(readsPublicly(ctx, p, AccessLevel.REPORTER)); // :read_environment
      if (search && search.length < 3) throw badRequest("Search query is less than 3 characters");
      let envs = state.environments.filter((e) => e.projectId === p.id);
      if (name) envs = envs.filter((e) => e.name === name);
      if (search) envs = envs.filter((e) => e.name.toLowerCase().startsWith(search.toLowerCase()));
      if (states) envs = envs.filter((e) => e.state === states);
      envs.sort((a, b) => a.id - b.id);
      return ok(paginate(ctx, envs).map((e) => environmentEntity(e)));
    },
    { jobToken: true },
  );
  route(
    "GET",
    "/projects/:id/environments/:environment_id",
    (ctx) => {
      const p = userProject(ctx);
      authorize(readsPublicly(ctx, p, AccessLevel.REPORTER));
      const e = findEnv(ctx, p);
      // Environment#last_deployment: the successful deployment that finished last (Deployment.ordered).
      const last = state.deployments
        .filter((d) => d.environmentId === e.id && d.status === "success")
        .sort((x, y) => ((x.finishedAt ?? "") < (y.finishedAt ?? "") ? 1 : -1) || y.id - x.id)[0];
      return ok({
        ...environmentEntity(e, false),
        last_deployment: last
          ? {
              id: last.id,
              iid: last.iid,
              ref: last.ref,
              sha: last.sha,
              status: last.status,
              created_at: last.createdAt,
              updated_at: last.updatedAt,
              finished_at: last.finishedAt,
              user: null,
              deployable: null,
            }
          : null,
      });
    },
    { jobToken: true, intParams: ["environment_id"] },
  );
  route(
    "POST",
    "/projects/:id/environments",
    (ctx) => {
      requireParams(ctx.params, "name");
      if (has(ctx.params, "slug")) throw grapeError("slug is automatically generated and cannot be changed");
      const name = pStr(ctx.params, "name") ?? "";
      const tier = pValues(ctx.params, "tier", TIERS);
      const autoStop = pValues(ctx.params, "auto_stop_setting", ["always", "with_action"] as const);
      const agentId = pInt(ctx.params, "cluster_agent_id");
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.DEVELOPER); // :create_environment
      checkEnvAgent(ctx, p, agentId);
      const ts = now();
      const e: FakeEnvironment = {
        id: 0,
        projectId: p.id,
        name,
        slug: envSlug(name),
        description: pStr(ctx.params, "description") ?? null,
        externalUrl: pStr(ctx.params, "external_url") ?? null,
        tier: tier ?? guessTier(name),
        state: "available",
        clusterAgentId: agentId ?? null,
        kubernetesNamespace: pStr(ctx.params, "kubernetes_namespace") ?? null,
        fluxResourcePath: pStr(ctx.params, "flux_resource_path") ?? null,
        autoStopSetting: autoStop ?? "always",
        autoStopAt: null,
        createdAt: ts,
        updatedAt: ts,
      };
      validateEnv(e, p);
      e.id = nextId("environment");
      state.environments.push(e);
      return created(environmentEntity(e));
    },
    { jobToken: true },
  );
  route(
    "PUT",
    "/projects/:id/environments/:environment_id",
    (ctx) => {
      if (has(ctx.params, "slug")) throw grapeError("slug is automatically generated and cannot be changed");
      const tier = pValues(ctx.params, "tier", TIERS);
      const autoStop = pValues(ctx.params, "auto_stop_setting", ["always", "with_action"] as const);
      const agentId = pInt(ctx.params, "cluster_agent_id");
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.DEVELOPER); // :update_environment
      const e = findEnv(ctx, p);
      checkEnvAgent(ctx, p, agentId);
      // `name` is not declared since 16.0, so it is ignored.
      const next: FakeEnvironment = { ...e };
      if (has(ctx.params, "external_url")) next.externalUrl = pStr(ctx.params, "external_url") ?? null;
      if (tier) next.tier = tier;
      if (agentId !== undefined) next.clusterAgentId = agentId;
      if (has(ctx.params, "kubernetes_namespace"))
        next.kubernetesNamespace = pStr(ctx.params, "kubernetes_namespace") ?? null;
      if (has(ctx.params, "flux_resource_path"))
        next.fluxResourcePath = pStr(ctx.params, "flux_resource_path") ?? null;
      if (has(ctx.params, "description")) next.description = pStr(ctx.params, "description") ?? null;
      if (autoStop) next.autoStopSetting = autoStop;
      validateEnv(next, p);
      Object.assign(e, next, { updatedAt: now() });
      return ok(environmentEntity(e));
    },
    { jobToken: true, intParams: ["environment_id"] },
  );
  route(
    "POST",
    "/projects/:id/environments/:environment_id/stop",
    (ctx) => {
      pBool(ctx.params, "force");
      const p = userProject(ctx);
      authorize(readsPublicly(ctx, p, AccessLevel.REPORTER));
      const e = findEnv(ctx, p);
      authorize(level(ctx, p) >= AccessLevel.DEVELOPER); // :stop_environment
      e.state = "stopped";
      e.updatedAt = now();
      return ok(environmentEntity(e));
    },
    { jobToken: true, intParams: ["environment_id"] },
  );
  route(
    "DELETE",
    "/projects/:id/environments/:environment_id",
    (ctx) => {
      const p = userProject(ctx);
      authorize(readsPublicly(ctx, p, AccessLevel.REPORTER));
      const e = findEnv(ctx, p);
      // :destroy_environment needs Developer and a stopped environment.
      authorize(level(ctx, p) >= AccessLevel.DEVELOPER && e.state === "stopped");
      state.environments = state.environments.filter((x) => x.id !== e.id);
      return noContent();
    },
    { jobToken: true, intParams: ["environment_id"] },
  );
}
