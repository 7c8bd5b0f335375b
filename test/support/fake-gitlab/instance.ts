import { badRequest, ok, isExpired } from "./http";
import type { Core } from "./core";

/** Instance metadata and the token's user (lib/api/metadata.rb, version.rb, users.rb). */
export function registerInstance(core: Core): void {
  const { state, route, userBasic } = core;
  // --- instance ---------------------------------------------------------------------------
  // lib/api/metadata.rb, lib/api/version.rb: read_user is enough for GET.
  route(
    "GET",
    "/metadata",
    () =>
      ok({
        version: state.instance.version,
        revision: state.instance.revision,
        kas: {
          enabled: state.instance.kas.enabled,
          externalUrl: state.instance.kas.enabled ? state.instance.kas.externalUrl : null,
          externalK8sProxyUrl: state.instance.kas.enabled ? state.instance.kas.externalK8sProxyUrl : null,
          version: state.instance.kas.enabled ? state.instance.kas.version : null,
        },
        enterprise: state.instance.enterprise,
      }),
    { getScopes: ["read_user"] },
  );
  route("GET", "/version", () => ok({ version: state.instance.version, revision: state.instance.revision }), {
    getScopes: ["read_user"],
  });

  // lib/api/users.rb GET /user
  route(
    "GET",
    "/user",
    (ctx) => {
      const u = ctx.auth!.user;
      return ok({
        ...userBasic(u),
        created_at: u.createdAt,
        bio: "",
        location: "",
        public_email: null,
        linkedin: "",
        twitter: "",
        website_url: "",
        organization: "",
        job_title: "",
        bot: u.bot,
        email: u.email,
        commit_email: u.email,
        last_sign_in_at: null,
        confirmed_at: u.createdAt,
        two_factor_enabled: false,
        external: false,
        private_profile: false,
        ...(u.isAdmin ? { is_admin: true } : {}),
      });
    },
    { getScopes: ["read_user"] },
  );

  // lib/api/personal_access_tokens/self_information.rb: any scope; PATs only.
  route(
    "GET",
    "/personal_access_tokens/self",
    (ctx) => {
      const t = ctx.auth!.token;
      if (!t) throw badRequest("This endpoint requires token type to be a personal access token");
      return ok({
        id: t.id,
        name: t.name,
        revoked: t.revoked,
        created_at: t.createdAt,
        description: t.description,
        scopes: t.scopes,
        user_id: t.userId,
        last_used_at: t.lastUsedAt,
        active: !t.revoked && !isExpired(t),
        expires_at: t.expiresAt,
        last_used_ips: [],
      });
    },
    { anyScope: true },
  );
}
