// ESLint flat config: `npm run lint` (with the Prettier and clang-format checks, see package.json).
// typescript-eslint's recommended rules for src/ and test/, ESLint's for the plain-Node scripts.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: ["dist/**", "build/**", "build-*/**", "node_modules/**", "docs/**/*.json", "tmp/**"],
  },
  js.configs.recommended,
  {
    files: ["**/*.js", "bin/hapoll"],
    languageOptions: { sourceType: "commonjs", ecmaVersion: 2023, globals: { ...globals.node } },
  },
  {
    files: ["**/*.mjs"],
    languageOptions: { sourceType: "module", ecmaVersion: 2023, globals: { ...globals.node } },
  },
  ...tseslint.configs.recommended.map((c) => ({ ...c, files: ["**/*.ts"] })),
  {
    files: ["**/*.ts"],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    // What a file needs only as a type is imported with `type`: the import graph that matters at run time
    // (and the one scripts/check-circles.js keeps free of circles) is the graph of value imports.
    files: ["src/**/*.ts"],
    rules: {
      "@typescript-eslint/consistent-type-imports": [
        "error",
        { prefer: "type-imports", fixStyle: "inline-type-imports" },
      ],
      "no-duplicate-imports": "error",
    },
  },
  {
    // `bindings` returns whatever the addon exports; src/native.ts gives it its type.
    files: ["src/types/*.d.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // Tests read JSON from child processes and load the plain-Node bench scripts, which have no types.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off", "@typescript-eslint/no-require-imports": "off" },
  },
);
