/**
 * Signals, queued and handled inside the loop. HAProxy 1.8: src/signal.c.
 *
 * The native handler (native/signal.cc) only counts each signal in a shared Int32Array and writes a
 * byte to a self-pipe that every poller watches, so a signal that arrives while the thread sleeps in
 * epoll_wait() ends the wait. The loop checks the shared count each turn (no native call when it is
 * zero) and runs the registered handlers from signalProcessQueue(), outside of signal context.
 */
import { native } from "../native";
import { type Task, taskWakeup, TASK_WOKEN_SIGNAL } from "./task";

/** A registered handler: a function or a task to wake. HAProxy: struct sig_handler. */
export interface SigHandler {
  sig: number;
  fct: ((sig: number, arg: number) => void) | null;
  task: Task | null;
  arg: number;
}

/** Highest signal number + 1 (HAProxy: MAX_SIGNAL). */
export const MAX_SIGNAL = 65;

const handlers: SigHandler[][] = Array.from({ length: MAX_SIGNAL }, () => []);
let counts: Int32Array | null = null;
const taken = new Int32Array(MAX_SIGNAL);

/** HAProxy: signal_init(). Safe to call more than once. */
export function signalInit(): void {
  if (counts === null) counts = native.signalInit();
}

/** HAProxy: signal_queue_len != 0: a signal is waiting to be processed. */
export function signalQueued(): boolean {
  return counts !== null && counts[0] !== 0;
}

/**
 * HAProxy: signal_register_fct(). Catch <sig> and call <fct> from the loop. A null <fct> ignores
 * the signal (SIG_IGN), as in HAProxy.
 */
export function signalRegisterFct(sig: number, fct: ((sig: number, arg: number) => void) | null, arg = 0): SigHandler | null {
  if (sig <= 0 || sig >= MAX_SIGNAL) return null;
  signalInit();
  native.signalMode(sig, fct ? 2 : 1);
  if (!fct) return null;
  const sh: SigHandler = { sig, fct, task: null, arg };
  handlers[sig].push(sh);
  return sh;
}

/** HAProxy: signal_register_task(): wake <task> with TASK_WOKEN_SIGNAL | <reason>. */
export function signalRegisterTask(sig: number, task: Task, reason = 0): SigHandler | null {
  if (sig <= 0 || sig >= MAX_SIGNAL) return null;
  signalInit();
  native.signalMode(sig, 2);
  const sh: SigHandler = { sig, fct: null, task, arg: reason };
  handlers[sig].push(sh);
  return sh;
}

/** HAProxy: signal_unregister_handler(). */
export function signalUnregisterHandler(sh: SigHandler): void {
  const list = handlers[sh.sig];
  const i = list.indexOf(sh);
  if (i >= 0) list.splice(i, 1);
}

/** Forget all handlers of <sig> and restore its default action (HAProxy 1.8 has only signal_unregister_handler(); deinit_signals() does this for every signal). */
export function signalUnregister(sig: number): void {
  if (sig <= 0 || sig >= MAX_SIGNAL) return;
  handlers[sig].length = 0;
  native.signalMode(sig, 0);
}

/**
 * HAProxy: signal_process_queue(). Run the handlers of every signal counted since the last call, in
 * signal-number order (the native side counts; it cannot keep arrival order without allocating).
 */
export function signalProcessQueue(): void {
  if (counts === null || counts[0] === 0) return;
  if (native.signalTake(taken) <= 0) return;
  for (let sig = 1; sig < MAX_SIGNAL; sig++) {
    if (taken[sig] === 0) continue;
    for (const sh of handlers[sig].slice()) {
      if (sh.fct) sh.fct(sig, sh.arg);
      else if (sh.task) taskWakeup(sh.task, sh.arg | TASK_WOKEN_SIGNAL);
    }
  }
}

/** HAProxy: deinit_signals(): default action for every signal with handlers. */
export function deinitSignals(): void {
  for (let sig = 1; sig < MAX_SIGNAL; sig++) {
    if (handlers[sig].length) signalUnregister(sig);
  }
}
