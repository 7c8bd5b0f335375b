/**
 * The fake GitLab's project deploy tokens, as GitLab's Deploy Tokens API documents them (and as
 * lib/api/deploy_tokens.rb answers): 201 with the token value only on create, the list and show without
 * it, `active` filtering, Maintainer only, unknown scopes refused, DELETE 204 then 404.
 */
import assert from "node:assert/strict";
import { gitlabWorld, GitlabWorld } from "./support/gitlab-world";

describe("fake GitLab: project deploy tokens", () => {
  let w: GitlabWorld;
  before(async () => {
    w = await gitlabWorld();
  });
  after(() => w.fake.close());

  const call = (method: string, path: string, token: string, body?: object) =>
    fetch(`${w.fake.url}/api/v4/projects/${encodeURIComponent("platform/clusters")}/deploy_tokens${path}`, {
      method,
      headers: { "PRIVATE-TOKEN": token, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  it("creates with the value once, lists and shows without it, deletes with 204 then 404", async () => {
    const res = await call("POST", "", w.maintainerToken, { name: "flux", scopes: ["read_repository"] });
    assert.equal(res.status, 201);
    const created = (await res.json()) as Record<string, unknown>;
    assert.match(String(created.token), /^gldt-/);
    assert.deepEqual(
      [created.name, created.username, created.scopes, created.revoked, created.expired, created.expires_at],
      ["flux", `gitlab+deploy-token-${created.id}`, ["read_repository"], false, false, null],
    );
    const listed = (await (await call("GET", "?active=true", w.maintainerToken)).json()) as Record<
      string,
      unknown
    >[];
    assert.deepEqual(
      listed.map((t) => [t.id, t.token]),
      [[created.id, undefined]],
    );
    const shown = (await (await call("GET", `/${created.id}`, w.maintainerToken)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(shown.token, undefined);
    assert.equal((await call("DELETE", `/${created.id}`, w.maintainerToken)).status, 204);
    assert.equal((await call("DELETE", `/${created.id}`, w.maintainerToken)).status, 404);
    assert.equal((await call("GET", `/${created.id}`, w.maintainerToken)).status, 404);
  });

  it("refuses a Developer (403), a missing name or scope, an unknown scope and a malformed username (400)", async () => {
    assert.equal(
      (await call("POST", "", w.developerToken, { name: "x", scopes: ["read_repository"] })).status,
      403,
    );
    assert.equal((await call("GET", "", w.developerToken)).status, 403);
    const bad = async (body: object, message: RegExp) => {
      const res = await call("POST", "", w.maintainerToken, body);
      assert.equal(res.status, 400);
      assert.match(JSON.stringify(await res.json()), message);
    };
    await bad({ scopes: ["read_repository"] }, /name is missing/);
    await bad({ name: "x" }, /scopes is missing/);
    await bad({ name: "x", scopes: ["api"] }, /scopes does not have a valid value/);
    await bad({ name: "x", scopes: ["read_repository"], username: "no spaces" }, /Username can contain only/);
    assert.equal(w.fake.state.deployTokens.length, 0);
  });
});
