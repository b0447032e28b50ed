/**
 * hapoll as a library (package.json "main", typings in dist/index.d.ts): the core for people who
 * benchmark pollers or drive HAProxy's loop from their own scripts, and the whole proxy's entry.
 *
 *   const hapoll = require("hapoll");
 *   hapoll.initClock();
 *   hapoll.global.maxsock = 1024;                 // the fdtab's size
 *   const p = hapoll.initPollers();               // the best poller: epoll/kqueue 300, poll 200, select 150
 *   hapoll.counters.jobs = 1;                     // the loop runs while there is a job
 *   hapoll.fdInsert(fd, owner, (fd) => { ... });  // owner non-null; the iocb: fdtab[fd].iocb
 *   hapoll.fdWantRecv(fd);
 *   hapoll.runOneTurn(100);                       // one turn of run_poll_loop, waiting <= 100 ms
 *
 * Everything runs synchronously in the calling thread: runPollLoop() returns only when the process
 * is told to stop (docs/internals.md explains the loop, the fd cache and the update list).
 * bench/pollers/hapoll-run.js is a complete example.
 */
export { native, C, FD_POLL_IN, FD_POLL_PRI, FD_POLL_OUT, FD_POLL_ERR, FD_POLL_HUP } from "./native";
export type { NativePoller, NativeConstants } from "./native";
export {
  POLLER_PREFS, registry, registerPollers, disablePoller, initPollers, deinitPollers, listPollers, pollStats,
  NativeBackedPoller, type Poller,
} from "./core/poller";
export {
  fdtab, initFdtab, fdInsert, fdDelete, fdRemove, fdWantRecv, fdWantSend, fdStopRecv, fdStopSend, fdStopBoth,
  fdCantRecv, fdCantSend, fdMayRecv, fdMaySend, fdDoneRecv, fdRecvReady, fdSendReady, fdRecvActive, fdSendActive,
  fdUpdateEvents, fdProcessCachedEvents, fdStateString, fdEvString, fdOps, FD_POLL_STICKY,
} from "./core/fd";
export { runOneTurn, runPollLoop, loopHooks } from "./core/loop";
export {
  type Task, taskNew, taskWakeup, taskQueue, taskSchedule, taskDelete, taskFree, sched, TASK_WOKEN_INIT,
  TASK_WOKEN_TIMER, TASK_WOKEN_IO, TASK_WOKEN_SIGNAL, TASK_WOKEN_MSG, TASK_WOKEN_RES, TASK_WOKEN_OTHER,
} from "./core/task";
export { clock, updateDate, initClock } from "./core/clock";
export { tickAdd, tickIsExpired, tickFirst, tickIsSet, TICK_ETERNITY } from "./core/ticks";
export { global, counters } from "./core/global";
export { parseConfigFiles, formatDiag } from "./config/cfgparse";
export type { ParsedConfig, ProxyConfig, ServerConfig, GlobalConfig } from "./config/types";
export { main } from "./cli/main";
