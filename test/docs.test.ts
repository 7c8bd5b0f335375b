/**
 * The generated references: every configuration key has a description (and every description a key), the
 * generator reads valibot schemas and template spec headers correctly, and the committed
 * docs/configuration.md and docs/component.md are exactly what `npm run docs` writes.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as v from "valibot";
import { COMPUTED_DEFAULTS, DESCRIPTIONS } from "../infra/config/descriptions";
import { configKeys, expectedDocs, replaceGenerated } from "../scripts/gen-docs";
import { commonInputs, inputsReference, readTemplates } from "../scripts/docs/inputsDoc";
import { schemaKeys } from "../scripts/docs/schemaDoc";
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

  it("refuses a file without a generated part", () => {
    assert.throws(
      () => replaceGenerated("docs/x.md", "# x\n", "here", "table"),
      /docs\/x.md has no generated part/,
    );
  });
});
