// Lint rules for the TypeScript sources. Formatting is Prettier's job (npm run format).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import regexp from "eslint-plugin-regexp";
import globals from "globals";

export default tseslint.config(
  {
    ignores: [
      "dist/",
      "node_modules/",
      "wasm/",
      "src/kernels/*-binary.ts",
      "test/runtimes/",
      "examples/web/build/",
      "examples/cloudflare/.wrangler/",
      "examples/cloudflare/build/",
      "docs/api/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  regexp.configs["flat/recommended"],
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // The library reads files it does not trust: no stack-sized spreads, no backtracking regexes.
    files: ["src/**"],
    rules: {
      // A file controls the length of many arrays: spreading one into a call overflows the stack.
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression > SpreadElement",
          message: "Spreading into a call overflows the stack on long arrays; loop or use a typed helper.",
        },
        {
          selector: "NewExpression > SpreadElement",
          message: "Spreading into a call overflows the stack on long arrays; loop or use a typed helper.",
        },
      ],
      "regexp/no-super-linear-backtracking": "error",
      "regexp/no-super-linear-move": "error",
    },
  },
);
