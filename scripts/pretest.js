#!/usr/bin/env node
"use strict";
/**
 * `npm test`'s pretest step: the end-to-end suites run bin/hapoll, which loads dist/ and the addon, so
 * neither may be stale. Compiles the TypeScript (tsc -p tsconfig.json, a few seconds) and checks that
 * the addon exists and is newer than every native/ source and binding.gyp (rebuilding it with
 * node-gyp takes a minute, so it is checked, not rebuilt: the message says what to run).
 * HAPOLL_ADDON (an addon built elsewhere, as test:kqueue and test:sanitize use) is checked instead of
 * build/Release/hapoll.node when set.
 *
 *   node scripts/pretest.js        exit 0, or 1 with the reason on stderr
 */
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const ROOT = path.resolve(__dirname, "..");

function fail(msg) {
  process.stderr.write(`pretest: ${msg}\n`);
  process.exit(1);
}

const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(ROOT, "tsconfig.json")], {
  cwd: ROOT,
  stdio: "inherit",
});
if (tsc.error) fail(`cannot run tsc: ${tsc.error.message}`);
if (tsc.status !== 0) fail("tsc -p tsconfig.json failed (above): dist/ would be stale, the tests are not run");

const addon = process.env.HAPOLL_ADDON
  ? path.resolve(process.env.HAPOLL_ADDON)
  : path.join(ROOT, "build", "Release", "hapoll.node");
let built;
try {
  built = fs.statSync(addon).mtimeMs;
} catch {
  fail(`the addon ${path.relative(ROOT, addon)} is missing: run \`npm run build\` (node-gyp rebuild, about a minute)`);
}
const sources = [path.join(ROOT, "binding.gyp")];
for (const f of fs.readdirSync(path.join(ROOT, "native"))) {
  if (/\.(cc|h)$/.test(f)) sources.push(path.join(ROOT, "native", f));
}
const newer = sources.filter((f) => fs.statSync(f).mtimeMs > built).map((f) => path.relative(ROOT, f));
if (newer.length) {
  fail(
    `the addon ${path.relative(ROOT, addon)} is older than ${newer.join(", ")}: ` +
      "run `npm run build` (node-gyp rebuild, about a minute) so the tests do not run stale native code",
  );
}
