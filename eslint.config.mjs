// ESLint flat config: `npm run lint` (with the Prettier and clang-format checks, see package.json).
// typescript-eslint's recommended rules for src/ and test/, ESLint's for the plain-Node scripts.
//
// Deferred (issue 11): a few rules are relaxed below for the hot-path files (src/core, src/net,
// src/proxy/stream*.ts, channel.ts, connection.ts) instead of editing them while another branch
// optimises them; each relaxation says why. Once that work has landed, remove the block and fix
// what it reports.
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
      "@typescript-eslint/consistent-type-imports": ["error", { prefer: "type-imports", fixStyle: "inline-type-imports" }],
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
  // ---- Deferred (issue 11): hot-path files under optimisation on another branch. Targeted relaxations
  // instead of edits; each names what it hides. Remove them once that branch has landed.
  {
    // errno constants read with require("node:os") at module load (8 in connection.ts, 1 in listener.ts,
    // 2 in proto_tcp.ts): `import * as os from "node:os"` is the fix.
    files: ["src/net/connection.ts", "src/net/listener.ts", "src/net/proto_tcp.ts"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // Two dead initial assignments (`i = e` before a break, `let tlv = total` overwritten in every case).
    files: ["src/net/proxy_protocol.ts"],
    rules: { "no-useless-assignment": "off" },
  },
  {
    // siChkRcv imported and unused.
    files: ["src/proxy/stream.ts"],
    rules: { "@typescript-eslint/no-unused-vars": "off" },
  },
);
