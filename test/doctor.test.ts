/** `gitlab-eks doctor` as a user runs it: a child process against the fake GitLab. */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { doctor, DOCTOR_BUDGET_MS, doctorRetry, type DoctorOptions } from "../infra/cli/doctor";
import { DEFAULT_RETRY } from "../infra/gitlab/requester";
import { cliAsync as cli, projectDir } from "./support/cli";
import { configOf, minimal } from "./support/config";
import { gitlabWorld, GitlabWorld } from "./support/gitlab-world";

describe("gitlab-eks doctor", async () => {
  let w: GitlabWorld;
  let dir: string;
  const stack = (agent = "") => `
config:
  aws:region: eu-west-1
  gitlab-eks:cluster:
    vpcCidr: 10.0.0.0/16
  gitlab-eks:gitlab:
    url: URL
    agentProject: platform/clusters
${agent}`;

  before(async () => {
    w = await gitlabWorld({
      instance: { version: "18.5.1-ee", kas: { version: "18.5.1", externalUrl: "wss://kas.example.com" } },
    });
    dir = projectDir({ dev: stack().replace("URL", w.fake.url) });
  });
  after(() => w.fake.close());

  it("prints one ok line per check and exits 0 when everything fits", async () => {
    const r = await cli(["doctor", "--stack", "dev"], { cwd: dir, env: { GITLAB_TOKEN: w.maintainerToken } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines[0], `GitLab ${w.fake.url}, token from GITLAB_TOKEN`);
    for (const name of [
      "token",
      "reachable",
      "token valid",
      "token scopes",
      "role on agent project",
      "KAS",
      "agent version",
    ])
      assert.ok(
        lines.some((l) => l.startsWith(`ok    ${name}: `)),
        `${name} in:\n${r.stdout}`,
      );
    assert.match(r.stdout, /ok {4}role on agent project: Maintainer on platform\/clusters/);
    assert.match(r.stdout, /ok {4}KAS: enabled at wss:\/\/kas\.example\.com \(from \/metadata\)/);
    assert.match(r.stdout, /ok {4}agent version: v18\.5\.1/);
    assert.equal(lines[lines.length - 1], "all checks passed");
    assert.ok(!r.stdout.includes(w.maintainerToken));
  });

  it("fails, naming the missing scope", async () => {
    const r = await cli(["doctor", "--stack", "dev"], { cwd: dir, env: { GITLAB_TOKEN: w.readOnlyToken } });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL {2}token scopes: scopes: read_api; the agent APIs need the api scope/);
  });

  it("fails, naming the missing role", async () => {
    const r = await cli(["doctor", "--stack", "dev"], { cwd: dir, env: { GITLAB_TOKEN: w.developerToken } });
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /FAIL {2}role on agent project: Developer on platform\/clusters; .*needs Maintainer/,
    );
    assert.match(r.stdout, /1 check failed$/m);
  });

  it("fails on an invalid token and on a job token alone", async () => {
    let r = await cli(["doctor", "--stack", "dev"], {
      cwd: dir,
      env: { GITLAB_TOKEN: "glpat-wrong" },
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /FAIL {2}token valid: .*401 Unauthorized\): it is invalid, expired or revoked\. Create a new token with the api scope and set GITLAB_TOKEN to it\./,
    );
    r = await cli(["doctor", "--stack", "dev"], {
      cwd: dir,
      env: { GITLAB_TOKEN: "", CI_JOB_TOKEN: w.jobToken },
    });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL {2}token: .*Only CI_JOB_TOKEN is available/);
    assert.ok(!r.stdout.includes(w.jobToken));
  });

  it("fails on a pinned version outside GitLab's skew, saying which fit", async () => {
    const d = projectDir({
      dev: stack("  gitlab-eks:agent:\n    imageTag: v18.1.0\n").replace("URL", w.fake.url),
    });
    const r = await cli(["doctor", "--stack", "dev"], { cwd: d, env: { GITLAB_TOKEN: w.maintainerToken } });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL {2}agent version: .*use v18\.4\.x, v18\.5\.x, v18\.6\.x/);
  });

  it("with installMethod flux, checks that agent.flux.branch exists in the agent project", async () => {
    const flux = (branch: string) =>
      projectDir({
        dev: stack(
          `  gitlab-eks:agent:\n    installMethod: flux\n    flux:\n      branch: ${branch}\n`,
        ).replace("URL", w.fake.url),
      });
    const missing = await cli(["doctor", "--stack", "dev"], {
      cwd: flux("no-such-branch"),
      env: { GITLAB_TOKEN: w.maintainerToken },
    });
    assert.equal(missing.code, 1, missing.stdout + missing.stderr);
    assert.match(
      missing.stdout,
      /FAIL {2}flux branch: gitlab-eks:agent\.flux\.branch: branch "no-such-branch" does not exist in platform\/clusters; .*pulumi config set --path 'gitlab-eks:agent\.flux\.branch' main/,
    );
    assert.match(missing.stdout, /1 check failed$/m);
    const present = await cli(["doctor", "--stack", "dev"], {
      cwd: flux("main"),
      env: { GITLAB_TOKEN: w.maintainerToken },
    });
    assert.equal(present.code, 0, present.stdout + present.stderr);
    assert.match(present.stdout, /ok {4}flux branch: main exists in platform\/clusters/);
  });

  it("fails when GitLab cannot be reached", async () => {
    // A port nobody listens on any more.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(probe.address() as net.AddressInfo).port}`;
    await new Promise((r) => probe.close(r));
    const d = projectDir({ dev: stack().replace("URL", url) });
    const r = await cli(["doctor", "--stack", "dev"], { cwd: d, env: { GITLAB_TOKEN: w.maintainerToken } });
    assert.equal(r.code, 1);
    assert.ok(
      r.stdout.includes(
        `FAIL  reachable: no answer from ${url} to GET /api/v4/personal_access_tokens/self: connection refused ` +
          "(nothing listens at that address and port). Check the URL (gitlab-eks:gitlab.url)",
      ),
      r.stdout,
    );
    fs.rmSync(path.join(d), { recursive: true, force: true });
  });
});

/**
 * doctor in-process against GitLabs that do not serve: one that stalls, one that refuses or resets the
 * connection, and ones that answer only 429 or 500. Outcomes and messages only, never elapsed time.
 */
describe("gitlab-eks doctor against a GitLab that does not serve", () => {
  const servers: { close(): void }[] = [];
  after(() => servers.forEach((s) => s.close()));

  /** A TCP server: `stall` reads a request and never answers; `reset` reads it and resets the connection. */
  async function tcp(mode: "stall" | "reset"): Promise<{ url: string; requests: () => number }> {
    const sockets = new Set<net.Socket>();
    // Requests, not connections: fetch's pool may open a spare connection that never carries one.
    let requests = 0;
    const server = net.createServer((socket) => {
      socket.once("data", () => {
        requests++;
        if (mode === "reset") socket.resetAndDestroy();
      });
      sockets.add(socket.on("error", () => {}));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    servers.push({ close: () => (sockets.forEach((s) => s.destroy()), server.close()) });
    return {
      url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
      requests: () => requests,
    };
  }

  /** An HTTP server answering every request with `status` (and Retry-After when given). */
  async function answering(
    status: number,
    retryAfter?: string,
  ): Promise<{ url: string; requests: () => number }> {
    let requests = 0;
    const server = http.createServer((_req, res) => {
      requests++;
      res.writeHead(status, {
        "content-type": "application/json",
        ...(retryAfter ? { "retry-after": retryAfter } : {}),
      });
      res.end(JSON.stringify({ message: `${status}` }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    servers.push(server);
    return {
      url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
      requests: () => requests,
    };
  }

  const configFor = (url: string) =>
    configOf(
      minimal({
        "gitlab-eks:gitlab": { url, agentProject: "platform/clusters" },
        "gitlab-eks:runner": { group: "platform" },
      }),
    );

  /** `policy` is called once the config is read, just before the first request. */
  async function run(url: string, policy: () => DoctorOptions["retry"]) {
    const lines: string[] = [];
    const config = configFor(url);
    const code = await doctor(config, { GITLAB_TOKEN: "doctor-test-token" }, (l) => lines.push(l), {
      sleep: async () => {},
      retry: policy(),
    });
    return { code, out: lines.join("\n") };
  }

  /** Short attempts: the stalling server never answers, so any timeout gives the same outcome. */
  const quick = () => ({
    ...doctorRetry(Date.now()),
    attemptTimeoutMs: 200,
    maxAttempts: 2,
    deadline: undefined,
  });
  const real = () => doctorRetry(Date.now());

  it("fits 40 s whatever GitLab does: every request ends by the run's deadline", () => {
    const policy = doctorRetry(1_000);
    assert.equal(policy.deadline, 1_000 + DOCTOR_BUDGET_MS);
    // The deadline bounds every attempt and every wait; the rest of a run (start-up, config) is well
    // under the remaining 5 s.
    assert.ok(DOCTOR_BUDGET_MS <= 35_000, String(DOCTOR_BUDGET_MS));
    assert.ok(policy.attemptTimeoutMs < DOCTOR_BUDGET_MS && policy.maxWaitMs < DOCTOR_BUDGET_MS);
    assert.ok(DEFAULT_RETRY.deadline === undefined, "pulumi up keeps its longer retries");
  });

  it("says nobody answered when GitLab stalls, and does not ask again for the runner", async () => {
    const stall = await tcp("stall");
    const r = await run(stall.url, quick);
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      new RegExp(
        `FAIL {2}reachable: no answer from ${stall.url} to GET /api/v4/personal_access_tokens/self within 200 ms \\(twice\\): ` +
          "GitLab, or the network path to it, stalls\\. Check that the URL is right and reachable from here",
      ),
    );
    assert.match(r.out, /skip {2}runner checks: not run, GitLab did not serve the agent checks/);
    assert.equal(stall.requests(), 2, "two attempts, then nothing more");
    assert.doesNotMatch(r.out, /answered/);
  });

  it("cuts an attempt at the deadline, and sends nothing once it has passed", async () => {
    const stall = await tcp("stall");
    // An attempt timeout far beyond the budget: the deadline, not the timeout, ends the attempt. The budget
    // leaves a busy machine seconds to send the first request.
    const r = await run(stall.url, () => ({
      ...quick(),
      attemptTimeoutMs: 600_000,
      deadline: Date.now() + 5_000,
    }));
    const cut = /FAIL {2}reachable: no answer from .* within (\d+) (ms|s) \(once\)/.exec(r.out);
    assert.ok(cut, r.out);
    assert.ok(cut[2] === "ms" || Number(cut[1]) <= 5, `the attempt ended by the deadline: ${cut[0]}`);
    assert.equal(stall.requests(), 1);
    const late = await tcp("stall");
    const gone = await run(late.url, () => ({ ...quick(), deadline: Date.now() - 1 }));
    assert.match(
      gone.out,
      /FAIL {2}reachable: no answer from .*: not asked, the command's time budget was used up/,
    );
    assert.equal(late.requests(), 0);
  });

  it("says the connection was refused, or closed before an answer", async () => {
    const closed = await tcp("stall");
    servers.pop()!.close();
    const refused = await run(closed.url, quick);
    assert.match(
      refused.out,
      /FAIL {2}reachable: no answer from .*: connection refused \(nothing listens at that address and port\)\. Check the URL \(gitlab-eks:gitlab\.url\)/,
    );
    const reset = await tcp("reset");
    const r = await run(reset.url, quick);
    assert.match(
      r.out,
      /FAIL {2}reachable: no answer from .*: the connection was closed before an answer \((ECONNRESET|UND_ERR_SOCKET), twice\)/,
    );
  });

  it("says GitLab answered 429 and how long it asked to wait, without waiting past the budget", async () => {
    const limited = await answering(429, "120");
    const r = await run(limited.url, real);
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /FAIL {2}reachable: http:\/\/127\.0\.0\.1:\d+ answered 429 Too Many Requests to GET \/api\/v4\/personal_access_tokens\/self \(once\) and asked to wait 120 s \(Retry-After\): its rate limit for this user or address is reached\. Wait 120 s and run again/,
    );
    assert.equal(limited.requests(), 1, "no early retry: GitLab asked for longer than doctor's budget");
    assert.doesNotMatch(r.out, /no answer|cannot reach/);
  });

  it("says GitLab answered 429 to every attempt, or 500", async () => {
    const limited = await answering(429);
    const r = await run(limited.url, real);
    assert.match(
      r.out,
      /answered 429 Too Many Requests to GET .* \(3 times\): its rate limit .* Wait a minute and run again/,
    );
    assert.equal(limited.requests(), 3);
    const failing = await answering(500);
    const f = await run(failing.url, real);
    assert.match(
      f.out,
      /FAIL {2}reachable: http:\/\/127\.0\.0\.1:\d+ answered 500 Internal Server Error to GET .* \(3 times\): GitLab itself failed \(not the token, not the network\)\. Check GitLab's status or its logs, then run again/,
    );
    const gateway = await answering(502);
    const g = await run(gateway.url, real);
    assert.match(
      g.out,
      /answered 502 Bad Gateway .*: the proxy or load balancer in front of GitLab got no answer from GitLab itself/,
    );
  });
});
