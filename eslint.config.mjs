// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".pulumi-state/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
      // The offline CLI must not pay for @pulumi/* imports (about a second each).
      "no-restricted-imports": "off",
    },
  },
  ...layers(),
);

/**
 * Import boundaries. Data flows one way: core (primitives) -> config (validated once) -> model (pure
 * functions) -> gitlab, kube, ci -> cli; cloud (the Pulumi program) sits beside cli. Each layer lists what
 * it may not import; every layer but cloud must also stay free of @pulumi/* (about a second per import;
 * the offline CLI and the packed CI helper have none).
 */
function layers() {
  const pulumi = {
    group: ["@pulumi/*", "../cloud/*", "../index"],
    message:
      "The CLI (validate, render, doctor, verify, ci), the pure model and the GitLab module must not import @pulumi/* (about a second per import; the packed CI helper has none).",
  };
  const ours = (names) => names.map((n) => `../${n}/*`);
  const forbid = (files, names, why, withPulumi = true) => ({
    files,
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        { patterns: [...(withPulumi ? [pulumi] : []), { group: names, message: why }] },
      ],
    },
  });
  return [
    forbid(
      ["infra/core/**/*.ts"],
      ["../*", "../**"],
      "infra/core holds primitives (labels, quantities, CIDRs, instance types) and imports nothing of ours.",
    ),
    forbid(
      ["infra/config/**/*.ts"],
      ours(["model", "gitlab", "kube", "ci", "cli", "cloud"]).concat("../index"),
      "infra/config may import only infra/core: validation comes before everything else.",
    ),
    forbid(
      ["infra/model/**/*.ts"],
      ours(["gitlab", "kube", "ci", "cli", "cloud"]).concat("../index"),
      "infra/model is pure: it may import infra/core and infra/config only; pass in what it needs.",
    ),
    forbid(
      ["infra/gitlab/**/*.ts", "infra/kube/**/*.ts", "infra/ci/**/*.ts"],
      ours(["cli", "cloud"]).concat("../index"),
      "infra/gitlab, infra/kube and infra/ci sit below the CLI and beside the Pulumi program.",
    ),
    forbid(
      ["infra/cli/**/*.ts"],
      ours(["cloud"]).concat("../index"),
      "The CLI does not load the Pulumi program.",
    ),
    forbid(
      ["infra/cloud/**/*.ts"],
      ours(["cli", "ci"]).concat(["../../cli/*", "../../ci/*"]),
      "The Pulumi program does not depend on the CLI.",
      false,
    ),
  ];
}
