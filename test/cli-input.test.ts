/**
 * The CLI under hostile files and arguments (issue 10), as a user runs it: a child process. Each case
 * gets a documented exit code (0 ok, 1 problems, 2 usage) and a message naming the file or option; none
 * gets the undocumented 70, a stack trace, or a half-written folder.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cli, projectDir, ROOT } from "./support/cli";

const VALID = `config:
  aws:region: eu-west-1
  gitlab-eks:cluster:
    vpcCidr: 10.0.0.0/16
  gitlab-eks:gitlab:
    agentProject: platform/clusters
`;

function assertClean(r: { code: number | null; stderr: string }) {
  assert.notEqual(r.code, 70, r.stderr);
  assert.doesNotMatch(r.stderr, /unexpected error/);
  assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m);
}

describe("gitlab-eks with hostile stack files", () => {
  it("refuses a stack file over 1 MiB at once, before parsing it", () => {
    let big = VALID + "  gitlab-eks:tags:\n";
    for (let i = 0; big.length <= 1024 * 1024; i++) big += `    key${i}: value${i}\n`;
    const dir = projectDir({ big });
    const r = cli(["validate", "--stack", "big"], { cwd: dir });
    assertClean(r);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^Pulumi\.big\.yaml: is \d+ bytes; .* at most 1048576 bytes \(1 MiB\) are read\. Fix: /m,
    );
  });

  it("reads a file just under 1 MiB of map entries and refuses the map by its limit", () => {
    let text = VALID + "  gitlab-eks:tags:\n";
    for (let i = 0; text.length < 1000 * 1024; i++) text += `    key${i}: value${i}\n`;
    const dir = projectDir({ near: text });
    const r = cli(["validate", "--stack", "near"], { cwd: dir });
    assertClean(r);
    assert.equal(r.code, 1);
    assert.deepEqual(
      r.stderr
        .trimEnd()
        .split("\n")
        .map((l) => l.split(": ")[0]),
      ["gitlab-eks:tags"],
    );
    assert.match(r.stderr, /at most 41 are accepted/);
  });

  it("names the file of a YAML alias bomb", () => {
    const levels = "abcdefghi".split("");
    let text = 'config:\n  a: &a ["x","x","x","x","x","x","x","x","x"]\n';
    for (let i = 1; i < levels.length; i++)
      text += `  ${levels[i]}: &${levels[i]} [${Array(9)
        .fill(`*${levels[i - 1]}`)
        .join(",")}]\n`;
    const dir = projectDir({ bomb: text });
    const r = cli(["validate", "--stack", "bomb"], { cwd: dir });
    assertClean(r);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Pulumi\.bomb\.yaml: cannot be read: Excessive alias count/m);
  });

  it("refuses bytes that are not UTF-8 instead of replacing them", () => {
    const dir = projectDir({});
    fs.writeFileSync(
      path.join(dir, "Pulumi.latin1.yaml"),
      Buffer.concat([Buffer.from(VALID + "  gitlab-eks:tags:\n    team: caf"), Buffer.from([0xe9, 0x0a])]),
    );
    const r = cli(["validate", "--stack", "latin1"], { cwd: dir });
    assertClean(r);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Pulumi\.latin1\.yaml: is not UTF-8 text \(line 8 holds bytes that are not\)/m);
  });

  it("refuses a key written twice, which YAML would otherwise resolve by dropping one", () => {
    const dir = projectDir({ dup: VALID + "  aws:region: eu-west-2\n" });
    const r = cli(["validate", "--stack", "dup"], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Pulumi\.dup\.yaml: has the key "aws:region" \(line 7\) twice/m);
  });

  it("reports a bare key next to the namespaced one, and a misspelt namespace, together with the value problems", () => {
    const dir = projectDir({
      odd:
        VALID +
        "  runnerPool:\n    minSize: 2\n  gitlab-eks:runnerPool:\n    minSize: 1\n  gitlab-ekz:systemPool:\n    minSize: 1\n  gitlab-eks:isolation:\n    labelValue: ''\n",
    });
    const r = cli(["validate", "--stack", "odd"], { cwd: dir });
    assertClean(r);
    assert.equal(r.code, 1);
    const keys = r.stderr
      .trimEnd()
      .split("\n")
      .map((l) => l.split(": ")[0]);
    assert.deepEqual(keys, ["runnerPool", "gitlab-ekz:systemPool", "gitlab-eks:isolation.labelValue"]);
    assert.match(
      r.stderr,
      /runnerPool: in Pulumi\.odd\.yaml has no namespace, so Pulumi reads it as gitlab-eks:runnerPool and replaces the whole gitlab-eks:runnerPool entry next to it: did you mean gitlab-eks:runnerPool\?/,
    );
    assert.match(r.stderr, /gitlab-ekz:systemPool: .*did you mean gitlab-eks:systemPool\?/);
  });

  it("prints a key holding a newline escaped: no forged ok line", () => {
    const dir = projectDir({ forge: VALID + '  "gitlab-eks:cluster\\nok": {}\n' });
    const r = cli(["validate", "--stack", "forge"], { cwd: dir });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.doesNotMatch(r.stderr, /^ok$/m);
    assert.match(r.stderr, /^gitlab-eks:cluster\\nok: unknown setting/m);
  });

  it("counts a secure number as set: ok, with a note that Pulumi checks it", () => {
    const dir = projectDir({
      sec: VALID + "  gitlab-eks:runnerPool:\n    maxSize:\n      secure: AAABAKx0bWFkZQ==\n",
    });
    const r = cli(["validate", "--stack", "sec"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "ok\n");
    assert.match(r.stderr, /note: gitlab-eks:runnerPool\.maxSize is a secure value, counted as set/);
    assert.doesNotMatch(r.stderr, /must be a whole number/);

    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "render-")), "out");
    const render = cli(["render", "--stack", "sec", "--out", out], { cwd: dir });
    assert.equal(render.code, 1);
    assert.match(
      render.stderr,
      /gitlab-eks:runnerPool\.maxSize holds a secure value, which only the Pulumi CLI can decrypt/,
    );
    assert.equal(fs.existsSync(out), false);

    // doctor does not need that value: it goes on to check GitLab (here: no token, so that check fails).
    const doctor = cli(["doctor", "--stack", "sec"], { cwd: dir });
    assert.equal(doctor.code, 1, doctor.stderr);
    assert.match(doctor.stdout, /FAIL {2}token: /);
  });
});

describe("gitlab-eks arguments", () => {
  it("--stack with a path is a usage error (exit 2) and reads nothing", () => {
    const r = cli(["validate", "--stack", "../../etc/passwd"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /"\.\.\/\.\.\/etc\/passwd" is not a stack name/);
  });

  it("--version prints package.json's version", () => {
    const r = cli(["--version"]);
    assert.equal(r.code, 0);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    assert.equal(r.stdout.trim(), pkg.version);
  });

  describe("render --out", () => {
    const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "render-"));

    it("that is a file: usage error, the file untouched", () => {
      const file = path.join(tmp(), "out");
      fs.writeFileSync(file, "mine");
      const r = cli(["render", "--stack", "dev", "--out", file]);
      assertClean(r);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--out .* is a file, not a folder/);
      assert.equal(fs.readFileSync(file, "utf8"), "mine");
    });

    it("under a file: usage error", () => {
      const file = path.join(tmp(), "out");
      fs.writeFileSync(file, "mine");
      const r = cli(["render", "--stack", "dev", "--out", path.join(file, "sub")]);
      assertClean(r);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /lies under a file/);
    });

    it("too long: usage error", () => {
      const r = cli(["render", "--stack", "dev", "--out", path.join(tmp(), "x".repeat(300))]);
      assertClean(r);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /file systems take 255|too long/);
    });

    it("where one file cannot be written: nothing is written, nothing is left behind", () => {
      const parent = tmp();
      const out = path.join(parent, "out");
      fs.mkdirSync(out);
      fs.mkdirSync(path.join(out, "node-pools.json"));
      const r = cli(["render", "--stack", "dev", "--out", out]);
      assertClean(r);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /node-pools\.json: a folder of that name is in the way/);
      assert.deepEqual(fs.readdirSync(out), ["node-pools.json"]);
      assert.deepEqual(fs.readdirSync(parent), ["out"], "no temporary folder left");
    });

    it("into a new folder: every file at once, no temporary folder left", () => {
      const parent = tmp();
      const out = path.join(parent, "a", "b");
      const r = cli(["render", "--stack", "dev", "--out", out]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(fs.readdirSync(out).includes("node-pools.json"));
      assert.deepEqual(fs.readdirSync(path.join(parent, "a")), ["b"]);
    });

    it("into an existing folder: files replaced, other files kept", () => {
      const out = tmp();
      fs.writeFileSync(path.join(out, "node-pools.json"), "old");
      fs.writeFileSync(path.join(out, "notes.txt"), "mine");
      const r = cli(["render", "--stack", "dev", "--out", out]);
      assert.equal(r.code, 0, r.stderr);
      assert.notEqual(fs.readFileSync(path.join(out, "node-pools.json"), "utf8"), "old");
      assert.equal(fs.readFileSync(path.join(out, "notes.txt"), "utf8"), "mine");
      assert.ok(!fs.readdirSync(out).some((f) => f.startsWith(".gitlab-eks-render-")));
    });
  });
});
