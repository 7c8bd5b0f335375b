// Validates YAML documents against GitLab's CI JSON schema as gitlab-ci-local 4.65.0 ships it
// (node_modules/gitlab-ci-local/src/schema/schema.js, GitLab's own ci.json), with the Ajv options
// gitlab-ci-local uses (src/validator.js). ES module, because gitlab-ci-local is one.
// stdin: [{"name": "...", "doc": {...}}]  stdout: [{"name": "...", "errors": ["/path message", ...]}]
import { createRequire } from "node:module";
import process from "node:process";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const gcl = path.join(root, "node_modules", "gitlab-ci-local");
const Ajv = createRequire(path.join(gcl, "package.json"))("ajv").default;
const { schema } = await import(pathToFileURL(path.join(gcl, "src", "schema", "schema.js")).href);

const ajv = new Ajv({
  verbose: true,
  allErrors: true,
  allowUnionTypes: true,
  validateFormats: false,
  strictTypes: false,
  keywords: ["markdownDescription"],
});
const validate = ajv.compile(schema);
let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = JSON.parse(input).map(({ name, doc }) => ({
  name,
  errors: validate(doc) ? [] : validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}`),
}));
process.stdout.write(JSON.stringify(results));
