import * as crypto from "node:crypto";
import { AccessLevel, FakeUrlConfiguration } from "./types";
import { notFound, badRequest, requireParams, pStr, ok, created, noContent } from "./http";
import type { Core } from "./core";

function isCertificate(pem: string): boolean {
  try {
    new crypto.X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}

/** Receptive agents' URL configurations (lib/api/clusters/agent_url_configurations.rb). */
export function registerUrlConfigurations(core: Core): void {
  const { state, nextId, userProject, level, authorize, route, urlConfigEntity, findAgent } = core;
  // --- receptive agents (lib/api/clusters/agent_url_configurations.rb) ----------------------
  const receptiveGate = (): void => {
    if (!state.instance.receptiveAgentsEnabled) throw notFound();
  };
  const urlConfigOf = (agentId: number) => state.urlConfigurations.find((c) => c.agentId === agentId);
  route(
    "GET",
    "/projects/:id/cluster_agents/:agent_id/url_configurations",
    (ctx) => {
      receptiveGate();
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.MAINTAINER);
      const cfg = urlConfigOf(findAgent(ctx, p).id);
      return ok(cfg ? [urlConfigEntity(cfg)] : []);
    },
    { intParams: ["agent_id"] },
  );
  route(
    "GET",
    "/projects/:id/cluster_agents/:agent_id/url_configurations/:url_configuration_id",
    (ctx) => {
      receptiveGate();
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.MAINTAINER);
      const cfg = urlConfigOf(findAgent(ctx, p).id);
      if (!cfg || cfg.id !== ctx.route.url_configuration_id) throw notFound();
      return ok(urlConfigEntity(cfg));
    },
    { intParams: ["agent_id", "url_configuration_id"] },
  );
  route(
    "POST",
    "/projects/:id/cluster_agents/:agent_id/url_configurations",
    (ctx) => {
      receptiveGate();
      requireParams(ctx.params, "url");
      const url = pStr(ctx.params, "url") ?? "";
      const decode = (k: string): string | null => {
        const v = pStr(ctx.params, k);
        return v ? Buffer.from(v, "base64").toString("utf8") : null;
      };
      const clientCert = decode("client_cert");
      const clientKey = decode("client_key");
      const caCert = decode("ca_cert");
      const tlsHost = pStr(ctx.params, "tls_host") || null;
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.MAINTAINER); // :create_cluster
      const a = findAgent(ctx, p);
      if (urlConfigOf(a.id)) throw badRequest("URL configuration already exists for this agent");
      const errors: string[] = [];
      let scheme = "";
      try {
        scheme = new URL(url).protocol;
      } catch {
        scheme = "";
      }
      if (scheme !== "grpc:" && scheme !== "grpcs:")
        errors.push("Url is blocked: Only allowed schemes are grpc, grpcs");
      // Clusters::Agents::UrlConfiguration: `validates :ca_cert, certificate: true` and
      // `validates :tls_host, host: true` (both allow_blank).
      if (caCert && !isCertificate(caCert)) errors.push("Ca cert must be a valid PEM certificate");
      if (tlsHost && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(tlsHost))
        errors.push("Tls host must be a valid hostname!");
      if (clientKey && !clientCert) errors.push("Client cert can't be blank");
      if (clientCert && !clientKey) errors.push("Client key can't be blank");
      if (errors.length) throw badRequest(errors);
      let publicKey: string | null = null;
      if (!clientKey) {
        const { publicKey: pub } = crypto.generateKeyPairSync("ed25519");
        const jwk = pub.export({ format: "jwk" }) as { x: string };
        publicKey = Buffer.from(jwk.x, "base64url").toString("base64");
      }
      const cfg: FakeUrlConfiguration = {
        id: nextId("urlConfiguration"),
        agentId: a.id,
        projectId: p.id,
        url,
        caCert,
        clientCert: clientKey ? clientCert : null,
        clientKey: clientKey ?? null,
        tlsHost,
        publicKey,
        createdByUserId: ctx.auth!.user.id,
      };
      state.urlConfigurations.push(cfg);
      return created(urlConfigEntity(cfg));
    },
    { intParams: ["agent_id"] },
  );
  route(
    "DELETE",
    "/projects/:id/cluster_agents/:agent_id/url_configurations/:url_configuration_id",
    (ctx) => {
      receptiveGate();
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.MAINTAINER);
      const cfg = urlConfigOf(findAgent(ctx, p).id);
      if (!cfg || cfg.id !== ctx.route.url_configuration_id) throw notFound();
      state.urlConfigurations = state.urlConfigurations.filter((c) => c.id !== cfg.id);
      return noContent();
    },
    { intParams: ["agent_id", "url_configuration_id"] },
  );
}
