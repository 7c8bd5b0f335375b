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
  {
    files: [
      "infra/cli/**/*.ts",
      "infra/config/**/*.ts",
      "infra/model/**/*.ts",
      "infra/ci/**/*.ts",
      "infra/gitlab/**/*.ts",
    ],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@pulumi/*", "../cloud/*", "../index"],
              message:
                "The CLI (validate, render, doctor, verify, ci), the pure model and the GitLab module must not import @pulumi/* (about a second per import; the packed CI helper has none).",
            },
          ],
        },
      ],
    },
  },
);
