/**
 * `gitlab-eks ci ...` against the fake GitLab: the drift issue once the drift is gone, and the markers that
 * find the helper's own note or issue (the Pulumi project and the stack; an old marker's note or issue is
 * taken over).
 */
import assert from "node:assert/strict";
import { marker, markers } from "../infra/ci/render";
import { cli, cliAsync } from "./support/cli";
import { type FakeGitlab } from "./support/fake-gitlab";
import { processTimeout } from "./support/gcl";
import { consumerWorld } from "./support/gitlab-world";
import { consumer, fixtureText, noCi, PROJECT } from "./support/ci-fixtures";

describe("gitlab-eks ci drift: when the drift is gone", function () {
  this.timeout(processTimeout(4));
  const NO_CHANGES = fixtureText("preview-no-changes.json");
  let fake: FakeGitlab;
  let projectId: number;
  let token: string;
  let botId: number;

  before(async () => {
    ({ fake, botId, projectId, token } = await consumerWorld());
  });

  after(async () => {
    await fake?.close();
  });

  const issue = (state: "opened" | "closed", stack: string, label = "pulumi-drift") =>
    fake.addIssue({
      projectId,
      authorId: botId,
      title: `Drift detected in Pulumi stack ${stack}`,
      description: `${marker("drift", stack)}\nThe scheduled refresh ...`,
      labels: [label],
      state,
    });
  const drift = (extra: string[], env: Record<string, string>, json = NO_CHANGES) =>
    cliAsync(["ci", "drift", "--stack", "dev", "--json", "p.json", ...extra], {
      cwd: consumer({ "p.json": json }),
      env: { ...noCi, CI_SERVER_URL: fake.url, CI_PROJECT_ID: String(projectId), ...env },
    });

  it("without a token it still succeeds, and says that no issue was checked and why", () => {
    const r = cli(["ci", "drift", "--stack", "dev", "--json", "p.json"], {
      cwd: consumer({ "p.json": NO_CHANGES }),
      env: { ...noCi, CI_PROJECT_ID: "1" },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "stack dev: no drift (3 resources unchanged).\n");
    assert.match(
      r.stderr,
      /^no drift issue checked, so an open one stays open\. Closing the drift issue needs a GitLab token in the GITLAB_EKS_TOKEN environment variable: .* It is not set\.\n$/,
    );
  });

  it("with a token and no open drift issue of this stack, it looks and changes nothing", async () => {
    fake.clearRequests();
    const closedBefore = issue("closed", "dev");
    const otherStack = issue("opened", "staging");
    const otherLabel = issue("opened", "dev", "incident");
    const r = await drift([], { GITLAB_EKS_TOKEN: token });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^stack dev: no drift .*\nno open drift issue for stack dev: nothing to close\.\n$/,
    );
    assert.equal(
      fake.countRequests({ method: "GET", pathPattern: new RegExp(`/projects/${projectId}/issues$`) }),
      1,
    );
    assert.deepEqual(fake.mutatingRequests(), []);
    assert.deepEqual(
      [closedBefore, otherStack, otherLabel].map((i) => i.state),
      ["closed", "opened", "opened"],
    );
    assert.equal(fake.state.notes.length, 0);
  });

  it("a preview that failed closes nothing: drift is not ruled out", async () => {
    const open = issue("opened", "dev");
    fake.clearRequests();
    const failed = await drift(["--pulumi-status", "255"], { GITLAB_EKS_TOKEN: token });
    assert.equal(failed.code, 0, failed.stderr);
    assert.match(
      failed.stderr,
      /^stack dev: the preview lists no changes, but pulumi exited with 255 .*no drift issue was closed\./,
    );
    const withError = JSON.stringify({
      diagnostics: [{ message: "error: refreshing: AccessDenied", severity: "error" }],
      changeSummary: {},
    });
    const errored = await drift(["--pulumi-status", "0"], { GITLAB_EKS_TOKEN: token }, withError);
    // A preview with error diagnostics is a failed preview: the job fails, drift is unknown.
    assert.equal(errored.code, 1, errored.stderr);
    assert.match(errored.stderr, /Drift is unknown, so no drift issue was opened or changed/);
    assert.equal(fake.requests.length, 0, "GitLab is not even asked");
    assert.equal(open.state, "opened");
    const bad = await drift(["--pulumi-status", "oops"], { GITLAB_EKS_TOKEN: token });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^--pulumi-status: is "oops"/);
  });
});

describe("gitlab-eks ci: markers carry the Pulumi project and the stack; an old marker's note or issue is taken over", function () {
  this.timeout(processTimeout(6));
  let fake: FakeGitlab;
  let projectId: number;
  let botId: number;
  let token: string;
  let mrIid: number;
  const NEW = (kind: string, stack = "dev") =>
    `<!-- gitlab-eks:${kind} project=infra-live stack=${stack} dir=. -->`;
  const OLD = (kind: string, stack = "dev") => `<!-- gitlab-eks:${kind} stack=${stack} dir=. -->`;
  const OTHER_PROJECT = (kind: string) => `<!-- gitlab-eks:${kind} project=other-infra stack=dev dir=. -->`;

  beforeEach(async () => {
    ({ fake, botId, projectId, token, mrIid } = await consumerWorld());
  });
  afterEach(async () => {
    await fake?.close();
  });

  const env = () => ({
    ...noCi,
    CI_SERVER_URL: fake.url,
    CI_PROJECT_ID: String(projectId),
    CI_MERGE_REQUEST_IID: String(mrIid),
    GITLAB_EKS_TOKEN: token,
  });

  it("the marker names the project (from Pulumi.yaml), the stack and the folder; the old form is looked for after it", () => {
    assert.equal(
      marker("drift", "dev", "infra", "infra-live"),
      "<!-- gitlab-eks:drift project=infra-live stack=dev dir=infra -->",
    );
    assert.deepEqual(markers("preview", "acme/infra/dev", ".", "a b"), [
      "<!-- gitlab-eks:preview project=a%20b stack=acme%2Finfra%2Fdev dir=. -->",
      "<!-- gitlab-eks:preview stack=acme%2Finfra%2Fdev dir=. -->",
    ]);
    assert.deepEqual(
      markers("preview", "dev"),
      [OLD("preview")],
      "no Pulumi.yaml to read: the old form only",
    );
  });

  it("a re-run after upgrading edits the note the old helper wrote; other projects' and stacks' notes are left alone", async () => {
    const note = (body: string) =>
      fake.addNote({ projectId, noteableType: "MergeRequest", noteableIid: mrIid, body, authorId: botId });
    const old = note(`${OLD("preview")}\nold plan`);
    const other = note(`${OTHER_PROJECT("preview")}\nanother project's plan`);
    const staging = note(`${OLD("preview", "staging")}\nstaging's plan`);
    const dir = consumer({ ...PROJECT, "p.json": fixtureText("preview-every-operation.json") });
    fake.clearRequests();
    const r = await cliAsync(["ci", "preview", "--stack", "dev", "--json", "p.json", "--note"], {
      cwd: dir,
      env: env(),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`MR note updated on !${mrIid} \\(note ${old.id}\\)`));
    assert.deepEqual(
      fake.mutatingRequests().map((q) => `${q.method} ${q.path.split("/").pop()}`),
      [`PUT ${old.id}`],
      "the old note edited, no second note",
    );
    assert.ok(old.body.startsWith(`${NEW("preview")}\n#### Pulumi preview for stack \`dev\``), old.body);
    assert.deepEqual(
      [other.body, staging.body],
      [`${OTHER_PROJECT("preview")}\nanother project's plan`, `${OLD("preview", "staging")}\nstaging's plan`],
    );
    fake.clearRequests();
    const again = await cliAsync(["ci", "preview", "--stack", "dev", "--json", "p.json", "--note"], {
      cwd: dir,
      env: env(),
    });
    assert.match(again.stdout, new RegExp(`MR note unchanged on !${mrIid} \\(note ${old.id}\\)`));
    assert.deepEqual(fake.mutatingRequests(), []);
    assert.equal(fake.state.notes.filter((n) => !n.system).length, 3);
  });

  it("drift edits, then closes, the issue the old helper opened; another project's issue of the same stack is never touched", async () => {
    const issue = (description: string) =>
      fake.addIssue({
        projectId,
        authorId: botId,
        title: "Drift",
        description,
        labels: ["pulumi-drift"],
        state: "opened",
      });
    const old = issue(`${OLD("drift")}\nold drift`);
    const other = issue(`${OTHER_PROJECT("drift")}\nanother project's drift`);
    const drift = (json: string) =>
      cliAsync(["ci", "drift", "--stack", "dev", "--json", "p.json"], {
        cwd: consumer({ ...PROJECT, "p.json": json }),
        env: env(),
      });
    const drifted = await drift(fixtureText("preview-every-operation.json"));
    assert.equal(drifted.code, 1, drifted.stderr);
    assert.match(drifted.stderr, new RegExp(`drift issue #${old.iid} updated`));
    assert.equal(fake.state.issues.length, 2, "no second issue");
    assert.ok(old.description?.startsWith(`${NEW("drift")}\n`), String(old.description));
    const gone = await drift(fixtureText("preview-no-changes.json"));
    assert.equal(gone.code, 0, gone.stderr);
    assert.match(gone.stdout, new RegExp(`drift issue #${old.iid} closed`));
    assert.deepEqual([old.state, other.state], ["closed", "opened"]);
    assert.equal(other.description, `${OTHER_PROJECT("drift")}\nanother project's drift`);
    const none = await drift(fixtureText("preview-no-changes.json"));
    assert.match(none.stdout, /no open drift issue for stack dev: nothing to close/);
    assert.equal(other.state, "opened");
  });
});
