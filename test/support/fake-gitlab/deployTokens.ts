import { AccessLevel, FakeDeployToken } from "./types";
import {
  apiError,
  created,
  grapeError,
  noContent,
  now,
  ok,
  pBool,
  pList,
  pStr,
  randomToken,
  recordNotFound,
  requireParams,
  toSentence,
} from "./http";
import type { Core } from "./core";

/** DeployToken::AVAILABLE_SCOPES (app/models/deploy_token.rb). */
const SCOPES = [
  "read_repository",
  "read_registry",
  "write_registry",
  "read_virtual_registry",
  "write_virtual_registry",
  "read_package_registry",
  "write_package_registry",
];

/**
 * Project deploy tokens (lib/api/deploy_tokens.rb; doc/api/deploy_tokens.md). Every endpoint needs the
 * Maintainer role. The token's value is in the create answer only; DELETE destroys the token
 * (Projects::DeployTokens::DestroyService), so it is gone from the list and a second DELETE is a 404.
 */
export function registerDeployTokens(core: Core): void {
  const { state, nextId, userProject, level, authorize, route, paginate } = core;
  const expired = (t: FakeDeployToken) => t.expiresAt !== null && Date.parse(t.expiresAt) <= Date.now();
  // Entities::DeployToken (and DeployTokenWithToken on create)
  const entity = (t: FakeDeployToken) => ({
    id: t.id,
    name: t.name,
    username: t.username,
    expires_at: t.expiresAt,
    scopes: t.scopes,
    revoked: t.revoked,
    expired: expired(t),
  });
  const maintainer = (ctx: Parameters<typeof userProject>[0]) => {
    const p = userProject(ctx);
    authorize(level(ctx, p) >= AccessLevel.MAINTAINER);
    return p;
  };
  route("GET", "/projects/:id/deploy_tokens", (ctx) => {
    const p = maintainer(ctx);
    const active = pBool(ctx.params, "active");
    const all = state.deployTokens.filter((t) => t.projectId === p.id);
    const listed = active === undefined ? all : all.filter((t) => (!t.revoked && !expired(t)) === active);
    return ok(paginate(ctx, listed).map(entity));
  });
  route(
    "GET",
    "/projects/:id/deploy_tokens/:token_id",
    (ctx) => {
      const p = maintainer(ctx);
      const t = state.deployTokens.find((x) => x.id === ctx.route.token_id && x.projectId === p.id);
      if (!t) throw recordNotFound();
      return ok(entity(t));
    },
    { intParams: ["token_id"] },
  );
  route("POST", "/projects/:id/deploy_tokens", (ctx) => {
    requireParams(ctx.params, "name", "scopes");
    const scopes = pList(ctx.params, "scopes") ?? [];
    if (!scopes.length || scopes.some((s) => !SCOPES.includes(s)))
      throw grapeError("scopes does not have a valid value");
    const p = maintainer(ctx);
    const name = pStr(ctx.params, "name") ?? "";
    const username = pStr(ctx.params, "username") || null;
    const expiresAt = pStr(ctx.params, "expires_at") || null;
    const errors: string[] = [];
    if (name.trim() === "") errors.push("Name can't be blank");
    if (name.length > 255) errors.push("Name is too long (maximum is 255 characters)");
    if (username !== null && !/^[a-zA-Z0-9.+_-]+$/.test(username))
      errors.push("Username can contain only letters, digits, '_', '-', '+', and '.'");
    if (expiresAt !== null && Number.isNaN(Date.parse(expiresAt))) throw grapeError("expires_at is invalid");
    // DeployTokens::CreateService: error(deploy_token.errors.full_messages.to_sentence, :bad_request)
    if (errors.length) throw apiError(400, toSentence(errors));
    const id = nextId("deployToken");
    const t: FakeDeployToken = {
      id,
      projectId: p.id,
      name,
      username: username ?? `gitlab+deploy-token-${id}`,
      scopes,
      expiresAt: expiresAt && new Date(expiresAt).toISOString(),
      revoked: false,
      token: `gldt-${randomToken(20)}`,
      createdAt: now(),
    };
    state.deployTokens.push(t);
    return created({ ...entity(t), token: t.token });
  });
  route(
    "DELETE",
    "/projects/:id/deploy_tokens/:token_id",
    (ctx) => {
      const p = maintainer(ctx);
      const t = state.deployTokens.find((x) => x.id === ctx.route.token_id && x.projectId === p.id);
      if (!t) throw recordNotFound();
      state.deployTokens = state.deployTokens.filter((x) => x !== t);
      return noContent();
    },
    { intParams: ["token_id"] },
  );
}
