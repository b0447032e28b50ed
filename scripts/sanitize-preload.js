/*
 * Preloaded (node -r, through NODE_OPTIONS) by scripts/sanitize.sh. Every load of the normal addon,
 * build/Release/hapoll.node, in this process and in every node process it starts (NODE_OPTIONS is
 * inherited: the hapoll CLI of the e2e suites, the fuzzer child) is redirected to the ASan/UBSan
 * build named by HAPOLL_SANITIZED_ADDON. Nothing on disk is swapped or renamed, so an interrupted
 * run cannot leave the normal build broken. Each redirection appends "<pid> <path>" to
 * HAPOLL_SANITIZE_LOG, which the script checks to prove the sanitized addon was the one tested.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const target = process.env.HAPOLL_SANITIZED_ADDON;
if (target) {
  const normal = /[\\/]build[\\/]Release[\\/]hapoll\.node$/;
  const dlopen = process.dlopen;
  process.dlopen = function (module, filename, ...rest) {
    if (typeof filename === "string" && normal.test(filename)) {
      if (process.env.HAPOLL_SANITIZE_LOG) {
        try {
          fs.appendFileSync(process.env.HAPOLL_SANITIZE_LOG, `${process.pid} ${path.resolve(target)}\n`);
        } catch {
          /* the log is a proof, not a requirement */
        }
      }
      filename = target;
    }
    return dlopen.call(this, module, filename, ...rest);
  };
}
