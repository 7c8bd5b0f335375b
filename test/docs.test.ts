/**
 * The generated references: every configuration key has a description (and every description a key), the
 * generator reads valibot schemas and template spec headers correctly, and the committed
 * docs/configuration.md and docs/component.md are exactly what `npm run docs` writes.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as v from "valibot";
import { COMPUTED_DEFAULTS, DESCRIPTIONS } from "../infra/config/descriptions";
import { configKeys, expectedDocs, replaceGenerated } from "../scripts/gen-docs";
import { commonInputs, inputsReference, readTemplates } from "../scripts/docs/inputsDoc";
import { schemaKeys } from "../scripts/docs/schemaDoc";
import { parse } from "yaml";
import type { StackConfig } from "../infra/config/types";
import { readStackFiles } from "../infra/config/stackFiles";
import { requireValidConfig } from "../infra/config/validate";
import { renderStack } from "../infra/model/render";
import { AFTER_UP } from "../infra/model/runnerRender";
import { standardTags } from "../infra/model/tags";
import { ROOT } from "./support/cli";

describe("docs: configuration descriptions (infra/config/descriptions.ts)", () => {
  const keys = configKeys();
  const known = new Set(keys.map((k) => k.key));

  it("describes every key the schemas define", () => {
    const missing = keys.filter((k) => !DESCRIPTIONS[k.key]?.trim()).map((k) => k.key);
    assert.deepEqual(
      missing,
      [],
      `keys without a description in infra/config/descriptions.ts: ${missing.join(", ")}`,
    );
  });

  it("names no key the schemas do not have", () => {
    const stale = Object.keys(DESCRIPTIONS).filter((k) => !known.has(k));
    assert.deepEqual(stale, [], `descriptions of keys the schema does not define: ${stale.join(", ")}`);
  });

  it("gives a computed default only for keys whose schema has none", () => {
    for (const key of Object.keys(COMPUTED_DEFAULTS)) {
      const doc = keys.find((k) => k.key === key);
      assert.ok(doc, `COMPUTED_DEFAULTS names ${key}, which the schema does not define`);
      assert.equal(doc.default, undefined, `${key} has a schema default (${doc.default}) and a computed one`);
    }
  });

  it("keeps every description on one line", () => {
    for (const [key, text] of Object.entries(DESCRIPTIONS)) assert.doesNotMatch(text, /\n/, key);
  });
});

describe("docs: reading valibot schemas", () => {
  it("lists nested keys with types, rules and defaults", () => {
    const schema = v.strictObject({
      size: v.optional(
        v.pipe(v.unknown(), v.transform(Number), v.number(), v.integer(), v.minValue(1), v.maxValue(9)),
        3,
      ),
      mode: v.optional(v.picklist(["a", "b"]), "a"),
      name: v.optional(v.pipe(v.string(), v.regex(/^x|y$/), v.maxLength(5))),
      items: v.optional(v.pipe(v.array(v.string()), v.minLength(1))),
      inner: v.optional(v.strictObject({ on: v.optional(v.boolean(), false) }), {}),
      entries: v.optional(v.array(v.strictObject({ id: v.string() })), []),
      labels: v.record(v.string(), v.pipe(v.string(), v.maxLength(8))),
    });
    assert.deepEqual(schemaKeys("ns:s", schema), [
      { key: "ns:s", type: "object", object: true },
      { key: "ns:s.size", type: "whole number, 1 to 9", object: false, default: "3" },
      { key: "ns:s.mode", type: "string, one of `a`, `b`", object: false, default: "a" },
      { key: "ns:s.name", type: "string, at most 5 characters, matches `^x\\|y$`", object: false },
      { key: "ns:s.items", type: "list of string, at least 1 item", object: false },
      { key: "ns:s.inner", type: "object", object: true },
      { key: "ns:s.inner.on", type: "boolean", object: false, default: "false" },
      { key: "ns:s.entries", type: "list of object", object: false, default: "[]" },
      { key: "ns:s.entries[].id", type: "string", object: false },
      { key: "ns:s.labels", type: "map of string to string, values: at most 8 characters", object: false },
    ]);
  });
});

describe("docs: reading the templates' spec headers", () => {
  it("lists shared inputs once, then each template's own, with required, options, regex and list defaults", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "docs-templates-"));
    try {
      const shared = `    stack:\n      description: "Stack <name>."\n      regex: ^[a-z]+$\n`;
      fs.writeFileSync(
        path.join(dir, "up.yml"),
        `# Runs up.\n# Part of the gitlab-eks CI/CD component; see docs.\nspec:\n  inputs:\n${shared}` +
          `    tier:\n      description: "Tier."\n      options: [production, other]\n      default: other\n---\nj: {}\n`,
      );
      fs.writeFileSync(
        path.join(dir, "drift.yml"),
        `# Finds drift.\nspec:\n  inputs:\n${shared}    rules:\n      description: "Rules | more."\n` +
          `      type: array\n      default:\n        - if: $X == "1"\n---\nj: {}\n`,
      );
      const templates = readTemplates(dir);
      assert.deepEqual(
        templates.map((t) => [t.name, t.summary]),
        [
          ["up", "Runs up."],
          ["drift", "Finds drift."],
        ],
      );
      assert.deepEqual(commonInputs(templates), ["stack"]);
      assert.equal(
        inputsReference(templates),
        [
          "### Inputs every component has\n",
          "| input | default | type | description |\n| --- | --- | --- | --- |",
          "| `stack` | **required** | string, matches `^[a-z]+$` | Stack &lt;name&gt;. |\n",
          "### `up`\n",
          "Runs up.\n",
          "| input | default | type | description |\n| --- | --- | --- | --- |",
          "| `tier` | `other` | string, one of `production`, `other` | Tier. |\n",
          "### `drift`\n",
          "Finds drift.\n",
          "| input | default | type | description |\n| --- | --- | --- | --- |",
          "| `rules` | see below | array | Rules \\| more. |\n",
          'Default of `rules`:\n\n```yaml\n- if: $X == "1"\n```\n',
        ].join("\n"),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("docs: the committed references are what the generator writes", () => {
  for (const { file, current, expected } of expectedDocs(ROOT))
    it(`${file} is up to date`, () => {
      if (current === expected) return;
      const a = current.split("\n");
      const b = expected.split("\n");
      const line = a.findIndex((l, i) => l !== b[i]);
      assert.fail(
        `${file} differs from what the generator produces (first at line ${line + 1}: ` +
          `${JSON.stringify(a[line] ?? "")} should be ${JSON.stringify(b[line] ?? "")}): run \`npm run docs\``,
      );
    });

  it("the generator loads no @pulumi/* module", () => {
    const probe =
      `require(${JSON.stringify(path.join(ROOT, "dist", "scripts", "gen-docs.js"))});` +
      `console.log(JSON.stringify(Object.keys(require.cache).filter((f) => f.includes("@pulumi"))))`;
    const r = spawnSync(process.execPath, ["-e", probe], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
  });

  it("refuses a file without a generated part", () => {
    assert.throws(
      () => replaceGenerated("docs/x.md", "# x\n", "here", "table"),
      /docs\/x.md has no generated part/,
    );
  });
});

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
const DOCS = ["README.md", ...fs.readdirSync(path.join(ROOT, "docs")).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith(".md"),
);

describe("docs: the README is a front door and the links hold", () => {
  it("gives the two commands, and .ci/run runs the README's test command", () => {
    const readme = read("README.md");
    assert.match(readme, /^scripts\/up dev +#/m);
    assert.match(readme, /^npm ci && npm test +#/m);
    const steps = read(".ci/run")
      .split("\n")
      .filter((l) => /^npm /.test(l));
    assert.deepEqual(
      steps.map((l) => l.split(" ").slice(0, 2).join(" ")),
      ["npm ci", "npm run", "npm test"],
      ".ci/run: npm ci, npm run lint, npm test",
    );
    assert.equal(steps[2], "npm test");
  });

  it("README.md is well under 250 lines, none over 120 characters", () => {
    const lines = read("README.md").split("\n");
    assert.ok(lines.length < 250, `README.md has ${lines.length} lines`);
    const long = lines.map((l, i) => [i + 1, l.length]).filter(([, n]) => n > 120);
    assert.deepEqual(long, [], "README.md lines over 120 characters ([line, length])");
  });

  /** GitHub's and GitLab's heading anchors: lowercase, punctuation dropped, spaces to dashes. */
  const anchors = (markdown: string) =>
    new Set(
      [...markdown.replace(/```[\s\S]*?```/g, "").matchAll(/^#+ (.*)$/gm)].map((m) =>
        m[1]
          .toLowerCase()
          .replace(/[^\p{L}\p{N} _-]/gu, "")
          .replaceAll(" ", "-"),
      ),
    );

  for (const file of DOCS)
    it(`${file}: every relative link points at a file and heading that exist`, () => {
      const text = read(file)
        .replace(/```[\s\S]*?```/g, "")
        .replace(/``[^\n]*?``|`[^`\n]*`/g, "");
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        const [rel, anchor] = target.split("#");
        const to = rel ? path.join(path.dirname(file), rel) : file;
        assert.ok(fs.existsSync(path.join(ROOT, to)), `${file}: link ${target}: ${to} does not exist`);
        if (anchor)
          assert.ok(anchors(read(to)).has(anchor), `${file}: link ${target}: no such heading in ${to}`);
      }
    });

  it("every full gitlab-eks: key the docs name is a key of the schema (or one of our AWS tag names)", () => {
    const known = new Set(configKeys().map((k) => k.key));
    const tagNames = Object.keys(
      standardTags({ tags: {}, project: "p", stack: "s", cluster: { name: "c" } } as unknown as StackConfig),
    );
    let named = 0;
    for (const file of DOCS)
      for (const [, key] of read(file).matchAll(/`(gitlab-eks:[A-Za-z0-9_.[\]]+)/g)) {
        named++;
        const normal = key.replace(/\[\d+\]/g, "[]");
        // An agents entry takes every agent setting, plus project.
        const asAgent = normal.replace(/^gitlab-eks:agents\[\](\.|$)/, "gitlab-eks:agent$1");
        assert.ok(
          known.has(normal) ||
            known.has(asAgent) ||
            /^gitlab-eks:agents\[\]\.project$/.test(normal) ||
            tagNames.includes(key),
          `${file} names ${key}, which is not a configuration key`,
        );
      }
    assert.ok(named > known.size, `only ${named} full keys found in the docs`);
  });

  it("the README's consumer .gitlab-ci.yml passes the pipeline component's spec", () => {
    const example = read("README.md").match(/```yaml\n(stages:[\s\S]*?)```/);
    assert.ok(example, "README.md has no consumer .gitlab-ci.yml example");
    const { include } = parse(example[1]) as {
      include: { component: string; inputs: Record<string, unknown> }[];
    };
    const spec = readTemplates(path.join(ROOT, "templates")).find((t) => t.name === "pipeline");
    assert.ok(spec && include.length === 3);
    for (const { component, inputs } of include) {
      assert.match(component, /\/pipeline@/);
      for (const [name, value] of Object.entries(inputs)) {
        const input = spec.inputs[name];
        assert.ok(input, `README example: pipeline has no input ${name}`);
        if (input.regex) assert.match(String(value), new RegExp(input.regex), `README example: ${name}`);
        if (input.options)
          assert.ok(input.options.includes(value), `README example: ${name}=${String(value)}`);
      }
      for (const [name, input] of Object.entries(spec.inputs))
        assert.ok("default" in input || name in inputs, `README example: required input ${name} missing`);
    }
  });
});

describe("docs: statements checked against the code", () => {
  it("architecture.md lists every stack output of the Pulumi program", () => {
    const exported = [...read("infra/index.ts").matchAll(/^export const (\w+)/gm)].map((m) => m[1]);
    const sentence = read("docs/architecture.md").match(/^Stack outputs: ([\s\S]*?)\.\n/m);
    assert.ok(sentence, "docs/architecture.md has no 'Stack outputs:' sentence");
    const listed = [...sentence[1].matchAll(/`(\w+)`/g)].map((m) => m[1]);
    assert.deepEqual([...listed].sort(), [...exported].sort());
  });

  it("operations.md names every file render writes, and where the deploy-time placeholders are", () => {
    const files = readStackFiles(ROOT, "staging");
    const rendered = renderStack(
      requireValidConfig({ project: files.project, stack: "staging", values: files.values }),
    );
    const section = read("docs/operations.md").match(/^- `gitlab-eks render[\s\S]*?\n- /m)?.[0] ?? "";
    for (const name of Object.keys(rendered))
      assert.ok(section.includes(`\`${name}\``), `render writes ${name}`);
    const withPlaceholder = Object.keys(rendered).filter((f) => rendered[f].includes(AFTER_UP));
    assert.deepEqual(withPlaceholder.sort(), [
      "autoscaler-values.yaml",
      "runner-config.toml",
      "runner-values.yaml",
    ]);
    assert.match(section, /bucket name \(in `runner-config.toml` and the values' `runners.config`\)/);
    assert.match(section, /role ARN\s+\(the service account annotation in `runner-values.yaml`\)/);
  });
});
