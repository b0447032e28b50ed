/**
 * The scheduler (src/core/task.ts) against HAProxy 1.8's src/task.c and include/proto/task.h.
 *
 * Every test runs with now_ms at three places (around 1000, just before the 2^31 wrap, just before
 * the 2^32 wrap) and with the run-queue insertion counter (rqueue_ticks) at three places (0, just
 * before 2^31, just before 0), so that every expiry and run-queue key in the tests crosses a wrap
 * in some combination. Expected ticks are computed by the test's own `at()` ((base + d) | 0),
 * never by ticks.ts.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { clock, setNowMs } from "../../src/core/clock";
import {
  MAX_TASKS_PER_TURN, TASK_RUNNING, TASK_WOKEN_IO, TASK_WOKEN_MSG, TASK_WOKEN_TIMER, Task,
  processRunnableTasks, resetScheduler, sched, taskDelete, taskInRq, taskInWq, taskNew, taskQueue,
  taskSchedule, taskWakeup, wakeExpiredTasks,
} from "../../src/core/task";

const BASES: [string, number][] = [
  ["now_ms around 1000", 1000],
  ["now_ms just before the 2^31 wrap (0x7fffff00)", 0x7fffff00],
  ["now_ms just before the 2^32 wrap (0xffffff00|0 = -256)", 0xffffff00 | 0],
];
const RQ_STARTS: [string, number][] = [
  ["rqueue_ticks from 0", 0],
  ["rqueue_ticks crossing 2^31 (from 0x7ffffff8)", 0x7ffffff8],
  ["rqueue_ticks crossing 0 (from -4)", -4],
];

it("HAProxy constants: 200 tasks per turn, TASK_* bits", () => {
  expect(MAX_TASKS_PER_TURN).toBe(200);
  expect([TASK_RUNNING, TASK_WOKEN_TIMER, TASK_WOKEN_IO, TASK_WOKEN_MSG]).toEqual([0x01, 0x04, 0x08, 0x20]);
});

describe.each(BASES)("%s", (_baseName, base) => {
  describe.each(RQ_STARTS)("%s", (_rqName, rqStart) => {
    /** The tick <d> ms after the base, in int32 (the test's own arithmetic). Never eternity. */
    const at = (d: number): number => {
      const t = (base + d) | 0;
      if (t === 0) throw new Error(`test bug: at(${d}) is TICK_ETERNITY`);
      return t;
    };
    /** The run-queue key <n> insertions after the start. */
    const rqKey = (n: number): number => (rqStart + n) | 0;
    const setNow = (d: number) => { clock.nowMs = (base + d) | 0; };

    let log: string[];
    /** A task that logs its name, then runs <body> (default: return itself). */
    const named = (name: string, body?: (t: Task) => Task | null): Task =>
      taskNew((t) => {
        log.push(name);
        return body ? body(t) : t;
      });

    beforeEach(() => {
      resetScheduler();
      setNowMs(base);
      clock.nowMs = base; // pin it: nothing below calls updateDate()
      sched.rqueueTicks = rqStart;
      log = [];
    });

    /* ---------------- run queue ---------------- */

    describe("taskWakeup / processRunnableTasks", () => {
      it("taskWakeup inserts a task in the run queue once; a second wakeup ORs the reason", () => {
        const a = named("a");
        taskWakeup(a, TASK_WOKEN_IO);
        expect(taskInRq(a)).toBe(true);
        expect(sched.runQueue.size).toBe(1);
        expect(a.state).toBe(TASK_WOKEN_IO);
        expect(a.rq.key).toBe(rqKey(1));
        taskWakeup(a, TASK_WOKEN_MSG);
        expect(sched.runQueue.size).toBe(1);
        expect(a.state).toBe(TASK_WOKEN_IO | TASK_WOKEN_MSG);
        expect(a.rq.key).toBe(rqKey(1));
        processRunnableTasks();
        expect(log).toEqual(["a"]);
        expect(a.calls).toBe(1);
        expect(taskInRq(a)).toBe(false);
      });

      it("processRunnableTasks runs tasks in wake-up order", () => {
        const tasks = Array.from({ length: 10 }, (_, i) => named(`t${i}`));
        const order = [3, 7, 1, 9, 0, 5, 2, 8, 6, 4];
        for (const i of order) taskWakeup(tasks[i], TASK_WOKEN_IO);
        processRunnableTasks();
        expect(log).toEqual(order.map((i) => `t${i}`));
        expect(sched.runQueue.size).toBe(0);
        for (const t of tasks) expect(t.calls).toBe(1);
      });

      it("processRunnableTasks runs at most 200 tasks per call; the rest run on the next call", () => {
        const tasks = Array.from({ length: 250 }, (_, i) => named(`t${i}`));
        for (const t of tasks) taskWakeup(t, TASK_WOKEN_IO);
        processRunnableTasks();
        expect(log).toEqual(Array.from({ length: 200 }, (_, i) => `t${i}`));
        expect(sched.runQueue.size).toBe(50);
        log = [];
        processRunnableTasks();
        expect(log).toEqual(Array.from({ length: 50 }, (_, i) => `t${200 + i}`));
        expect(sched.runQueue.size).toBe(0);
      });

      it("a task woken by another running task runs in the same call, after the tasks already queued", () => {
        const c = named("c");
        const a = named("a", (t) => { taskWakeup(c, TASK_WOKEN_MSG); return t; });
        const b = named("b");
        taskWakeup(a, TASK_WOKEN_IO);
        taskWakeup(b, TASK_WOKEN_IO);
        processRunnableTasks();
        expect(log).toEqual(["a", "b", "c"]);
      });

      it("TASK_RUNNING is set and currTask is the task while process() runs; both are cleared after", () => {
        let stateInside = -1;
        let currInside: Task | null = null;
        const a = named("a", (t) => { stateInside = t.state; currInside = sched.currTask; return t; });
        taskWakeup(a, TASK_WOKEN_IO);
        processRunnableTasks();
        expect(stateInside).toBe(TASK_RUNNING | TASK_WOKEN_IO);
        expect(currInside).toBe(a);
        expect(a.state & TASK_RUNNING).toBe(0);
        expect(sched.currTask).toBeNull();
      });

      it("a task woken while running gets pendingState, is not inserted while running, and goes back to the run queue behind the queued tasks", () => {
        // HAProxy 1.8 (src/task.c process_runnable_tasks): __task_wakeup() on return gives it a
        // fresh key; the walk continues (and wraps to eb32sc_first) so it runs again in the same
        // call, after the tasks queued before it.
        const seen: { state: number; pending: number; inRq: boolean }[] = [];
        const a = named("a", (t) => {
          if (t.calls === 1) {
            taskWakeup(t, TASK_WOKEN_MSG);
            seen.push({ state: t.state, pending: t.pendingState, inRq: taskInRq(t) });
          } else {
            seen.push({ state: t.state, pending: t.pendingState, inRq: taskInRq(t) });
          }
          return t;
        });
        const b = named("b");
        taskWakeup(a, TASK_WOKEN_IO);
        taskWakeup(b, TASK_WOKEN_IO);
        processRunnableTasks();
        expect(log).toEqual(["a", "b", "a"]);
        expect(a.calls).toBe(2);
        // first run: the wakeup was only recorded
        expect(seen[0]).toEqual({ state: TASK_RUNNING | TASK_WOKEN_IO, pending: TASK_WOKEN_MSG, inRq: false });
        // second run: state was reset to the pending wakeups (IO is gone), pendingState cleared
        expect(seen[1]).toEqual({ state: TASK_RUNNING | TASK_WOKEN_MSG, pending: 0, inRq: false });
      });

      it("a task that wakes itself on every run runs 200 times in one call, stays in the run queue and not in the wait queue", () => {
        const a = named("a", (t) => { t.expire = at(500); taskWakeup(t, TASK_WOKEN_MSG); return t; });
        taskWakeup(a, TASK_WOKEN_IO);
        processRunnableTasks();
        expect(a.calls).toBe(200);
        expect(taskInRq(a)).toBe(true);
        expect(taskInWq(a)).toBe(false);
        expect(a.state).toBe(TASK_WOKEN_MSG);
        processRunnableTasks();
        expect(a.calls).toBe(400);
      });

      it("a task returning itself with an expire goes to the wait queue at that expire", () => {
        const a = named("a", (t) => { t.expire = at(200); return t; });
        taskWakeup(a, TASK_WOKEN_IO);
        processRunnableTasks();
        expect(taskInRq(a)).toBe(false);
        expect(taskInWq(a)).toBe(true);
        expect(a.wq.key).toBe(at(200));
        expect(a.state & TASK_RUNNING).toBe(0);
      });

      it("a task returning itself with no expire is in neither queue", () => {
        const a = named("a");
        taskWakeup(a, TASK_WOKEN_IO);
        processRunnableTasks();
        expect(taskInRq(a)).toBe(false);
        expect(taskInWq(a)).toBe(false);
      });

      it("a task returning null is dropped: not queued even with an expire, never run again", () => {
        const a = named("a", (t) => { t.expire = at(100); return null; });
        taskWakeup(a, TASK_WOKEN_IO);
        processRunnableTasks();
        expect(taskInRq(a)).toBe(false);
        expect(taskInWq(a)).toBe(false);
        setNow(200);
        expect(wakeExpiredTasks()).toBe(0);
        processRunnableTasks();
        expect(log).toEqual(["a"]);
      });

      it("taskDelete takes a task out of both queues", () => {
        const a = named("a");
        a.expire = at(100);
        taskQueue(a);
        taskWakeup(a, TASK_WOKEN_IO);
        expect(taskInRq(a) && taskInWq(a)).toBe(true);
        taskDelete(a);
        expect(taskInRq(a)).toBe(false);
        expect(taskInWq(a)).toBe(false);
        processRunnableTasks();
        setNow(200);
        expect(wakeExpiredTasks()).toBe(0);
        expect(log).toEqual([]);
      });
    });

    describe("nice", () => {
      it("a nice -1024 task woken after 3 others runs first (key shifted by -32 x queue length)", () => {
        const others = ["a", "b", "c"].map((n) => named(n));
        for (const t of others) taskWakeup(t, TASK_WOKEN_IO);
        const n = named("n");
        n.nice = -1024;
        taskWakeup(n, TASK_WOKEN_IO);
        // 4th insertion, queue length 4: offset -(4 * 1024 / 32) = -128
        expect(n.rq.key).toBe(rqKey(4 - 128));
        processRunnableTasks();
        expect(log).toEqual(["n", "a", "b", "c"]);
      });

      it("a nice 1024 task woken first runs after 3 tasks woken later (key shifted by +32 x queue length)", () => {
        const n = named("n");
        n.nice = 1024;
        taskWakeup(n, TASK_WOKEN_IO);
        // 1st insertion, queue length 1: offset 1 * 1024 / 32 = 32
        expect(n.rq.key).toBe(rqKey(1 + 32));
        for (const name of ["a", "b", "c"]) taskWakeup(named(name), TASK_WOKEN_IO);
        processRunnableTasks();
        expect(log).toEqual(["a", "b", "c", "n"]);
      });

      /**
       * Wake <count> tasks whose run-queue keys are 10 apart (the insertion counter is advanced by
       * hand between wakeups), then a nice -40 task: offset -floor(len * 40 / 32).
       */
      function spacedThenNiced(count: number): Task {
        for (let i = 1; i <= count; i++) {
          sched.rqueueTicks = (sched.rqueueTicks + 9) | 0;
          taskWakeup(named(`o${i}`), TASK_WOKEN_IO);
        }
        sched.rqueueTicks = (sched.rqueueTicks + 9) | 0;
        const n = named("n");
        n.nice = -40;
        taskWakeup(n, TASK_WOKEN_IO);
        return n;
      }
      const names = (k: number) => Array.from({ length: k }, (_, i) => `o${i + 1}`);

      it("a nice -40 task woken after 3 tasks 10 keys apart still runs last (offset -5)", () => {
        const n = spacedThenNiced(3);
        expect(n.rq.key).toBe(rqKey(40 - 5));
        processRunnableTasks();
        expect(log).toEqual([...names(3), "n"]);
      });

      it("a nice -40 task woken after 8 tasks 10 keys apart overtakes the last one (offset -11)", () => {
        const n = spacedThenNiced(8);
        expect(n.rq.key).toBe(rqKey(90 - 11));
        processRunnableTasks();
        expect(log).toEqual([...names(7), "n", "o8"]);
      });

      it("a nice -40 task woken after 16 tasks 10 keys apart overtakes the last two (offset -21)", () => {
        const n = spacedThenNiced(16);
        expect(n.rq.key).toBe(rqKey(170 - 21));
        processRunnableTasks();
        expect(log).toEqual([...names(14), "n", "o15", "o16"]);
      });
    });

    /* ---------------- wait queue ---------------- */

    describe("taskQueue", () => {
      it("does nothing for a task without an expire", () => {
        const a = named("a");
        taskQueue(a);
        expect(taskInWq(a)).toBe(false);
      });

      it("queues at the expire; a later expire keeps the old position (lazy); an earlier one moves it", () => {
        const a = named("a");
        a.expire = at(200);
        taskQueue(a);
        expect(taskInWq(a)).toBe(true);
        expect(a.wq.key).toBe(at(200));
        a.expire = at(350);
        taskQueue(a);
        expect(a.wq.key).toBe(at(200));
        a.expire = at(100);
        taskQueue(a);
        expect(a.wq.key).toBe(at(100));
      });

      it("an expire cleared to eternity leaves the task where it was", () => {
        const a = named("a");
        a.expire = at(200);
        taskQueue(a);
        a.expire = 0;
        taskQueue(a);
        expect(taskInWq(a)).toBe(true);
        expect(a.wq.key).toBe(at(200));
      });
    });

    describe("taskSchedule", () => {
      it("does nothing when the task is in the run queue", () => {
        const a = named("a");
        taskWakeup(a, TASK_WOKEN_IO);
        taskSchedule(a, at(100));
        expect(a.expire).toBe(0);
        expect(taskInWq(a)).toBe(false);
      });

      it("queues a task that is not in the wait queue at <when>", () => {
        const a = named("a");
        taskSchedule(a, at(350));
        expect(a.expire).toBe(at(350));
        expect(taskInWq(a)).toBe(true);
        expect(a.wq.key).toBe(at(350));
      });

      it("keeps the earlier expiry when already queued, and moves the task for an earlier one", () => {
        const a = named("a");
        taskSchedule(a, at(150));
        taskSchedule(a, at(350));
        expect(a.expire).toBe(at(150));
        expect(a.wq.key).toBe(at(150));
        taskSchedule(a, at(50));
        expect(a.expire).toBe(at(50));
        expect(a.wq.key).toBe(at(50));
      });

      it("takes <when> as is when the task is not queued, even if its old expire was earlier", () => {
        const a = named("a");
        a.expire = at(50);
        taskSchedule(a, at(350));
        expect(a.expire).toBe(at(350));
        expect(a.wq.key).toBe(at(350));
      });
    });

    describe("wakeExpiredTasks", () => {
      it("returns TICK_ETERNITY on an empty wait queue", () => {
        expect(wakeExpiredTasks()).toBe(0);
      });

      it("wakes due tasks with TASK_WOKEN_TIMER in expiry order and returns the next expiry", () => {
        const states: Record<string, number> = {};
        const mk = (name: string, d: number) => {
          const t = named(name, (x) => { states[name] = x.state; x.expire = 0; return x; });
          t.expire = at(d);
          taskQueue(t);
          return t;
        };
        mk("a", 150);
        mk("b", 50);
        mk("e", 280);
        const c = mk("c", 350);
        mk("d", 250);
        setNow(300);
        expect(wakeExpiredTasks()).toBe(at(350));
        expect(sched.runQueue.size).toBe(4);
        processRunnableTasks();
        expect(log).toEqual(["b", "a", "d", "e"]);
        for (const n of ["a", "b", "d", "e"]) expect(states[n]).toBe(TASK_RUNNING | TASK_WOKEN_TIMER);
        expect(taskInWq(c)).toBe(true);
        expect(taskInRq(c)).toBe(false);
        expect(sched.waitQueue.size).toBe(1);
      });

      it("wakes a task exactly at its expiry tick, not 1 ms before", () => {
        const a = named("a");
        a.expire = at(100);
        taskQueue(a);
        setNow(99);
        expect(wakeExpiredTasks()).toBe(at(100));
        expect(taskInRq(a)).toBe(false);
        setNow(100);
        expect(wakeExpiredTasks()).toBe(0);
        expect(taskInRq(a)).toBe(true);
        expect(a.state).toBe(TASK_WOKEN_TIMER);
        expect(taskInWq(a)).toBe(false);
      });

      it("requeues a task whose expire was pushed later (left early by the lazy taskQueue) instead of waking it", () => {
        const a = named("a");
        a.expire = at(50);
        taskQueue(a);
        a.expire = at(400);
        taskQueue(a);
        expect(a.wq.key).toBe(at(50));
        setNow(100);
        expect(wakeExpiredTasks()).toBe(at(400));
        expect(taskInRq(a)).toBe(false);
        expect(taskInWq(a)).toBe(true);
        expect(a.wq.key).toBe(at(400));
        setNow(400);
        expect(wakeExpiredTasks()).toBe(0);
        expect(taskInRq(a)).toBe(true);
      });

      it("a requeued task takes its place among the others (the next expiry is the earliest one)", () => {
        const a = named("a");
        a.expire = at(50);
        taskQueue(a);
        a.expire = at(400);
        taskQueue(a);
        const b = named("b");
        b.expire = at(300);
        taskQueue(b);
        setNow(100);
        expect(wakeExpiredTasks()).toBe(at(300));
        setNow(300);
        expect(wakeExpiredTasks()).toBe(at(400));
        processRunnableTasks();
        expect(log).toEqual(["b"]);
      });

      it("drops a task whose expire was cleared while queued, without waking it", () => {
        const a = named("a");
        a.expire = at(50);
        taskQueue(a);
        a.expire = 0;
        setNow(100);
        expect(wakeExpiredTasks()).toBe(0);
        expect(taskInWq(a)).toBe(false);
        expect(taskInRq(a)).toBe(false);
      });

      it("a due task already in the run queue just gets TASK_WOKEN_TIMER ORed in", () => {
        const a = named("a");
        taskWakeup(a, TASK_WOKEN_IO);
        a.expire = at(50);
        taskQueue(a);
        const key = a.rq.key;
        setNow(60);
        expect(wakeExpiredTasks()).toBe(0);
        expect(sched.runQueue.size).toBe(1);
        expect(a.rq.key).toBe(key);
        expect(a.state).toBe(TASK_WOKEN_IO | TASK_WOKEN_TIMER);
        expect(taskInWq(a)).toBe(false);
      });

      it("a task returning itself with an expire is woken at that expiry by the next wakeExpiredTasks", () => {
        const a = named("a", (t) => {
          if (t.calls === 1) t.expire = at(200);
          else t.expire = 0;
          return t;
        });
        taskWakeup(a, TASK_WOKEN_IO);
        processRunnableTasks();
        setNow(199);
        expect(wakeExpiredTasks()).toBe(at(200));
        processRunnableTasks();
        expect(a.calls).toBe(1);
        setNow(200);
        expect(wakeExpiredTasks()).toBe(0);
        processRunnableTasks();
        expect(a.calls).toBe(2);
        expect(taskInWq(a) || taskInRq(a)).toBe(false);
      });

      it("50 tasks with shuffled expiries are woken in expiry order, and the first one not due is returned", () => {
        // expiries at 5, 15, ..., 495 ms; queued in a shuffled order
        const ds = Array.from({ length: 50 }, (_, i) => 10 * i + 5);
        const shuffled = [...ds].sort((x, y) => ((x * 7919) % 101) - ((y * 7919) % 101));
        expect(shuffled).not.toEqual(ds);
        for (const d of shuffled) {
          const t = named(`d${d}`, (x) => { x.expire = 0; return x; });
          t.expire = at(d);
          taskQueue(t);
        }
        setNow(303);
        expect(wakeExpiredTasks()).toBe(at(305));
        processRunnableTasks();
        expect(log).toEqual(ds.filter((d) => d <= 303).map((d) => `d${d}`));
        expect(sched.waitQueue.size).toBe(20);
      });
    });
  });
});

/* ------------------------------------------------------------------------------------------ */
/* HAProxy 1.8's run-queue walk is a cursor                                                   */
/* ------------------------------------------------------------------------------------------ */

/**
 * HAProxy 1.8 src/task.c process_runnable_tasks() (single-thread path, lines 203-216):
 *
 *     rq_next = eb32sc_lookup_ge(&rqueue, rqueue_ticks - TIMER_LOOK_BACK, tid_bit);
 *     while (1) {
 *         if (!rq_next) { rq_next = eb32sc_first(&rqueue, tid_bit); if (!rq_next) break; }
 *         t = eb32sc_entry(rq_next, struct task, rq);
 *         rq_next = eb32sc_next(rq_next, tid_bit);      <- taken BEFORE t->process() runs
 *         ...  t = t->process(t);  ...
 *
 * The walk goes forward from a cursor and only comes back to the start of the tree when it falls
 * off the end. A task inserted during the walk with a key behind the cursor (possible only with a
 * nice value) therefore runs after the tasks still ahead of the cursor, not immediately.
 * With nice 0 every new key is the largest one, so cursor order and "always take the first"
 * order agree; these cases need nice != 0.
 */
describe.each(RQ_STARTS)("HAProxy 1.8 run-queue cursor, %s", (_rqName, rqStart) => {
  let log: string[];
  const named = (name: string, body?: (t: Task) => Task | null): Task =>
    taskNew((t) => {
      log.push(name);
      return body ? body(t) : t;
    });

  beforeEach(() => {
    resetScheduler();
    sched.rqueueTicks = rqStart;
    log = [];
  });

  it("a task woken by A while a niced-later task B is next runs after B (A, B, X)", () => {
    const b = named("b");
    b.nice = 1024; // key +1+32: far ahead
    taskWakeup(b, TASK_WOKEN_IO);
    const x = named("x");
    const a = named("a", (t) => { taskWakeup(x, TASK_WOKEN_MSG); return t; });
    taskWakeup(a, TASK_WOKEN_IO); // key +2: runs first; cursor then points at b
    processRunnableTasks();
    // x (key +3) was inserted behind the cursor (b, key +33): HAProxy runs b, then wraps to x.
    expect(log).toEqual(["a", "b", "x"]);
  });

  it("a nice -1024 task woken during the walk runs after the tasks ahead of the cursor (A, B, N)", () => {
    const n = named("n");
    n.nice = -1024;
    const a = named("a", (t) => { taskWakeup(n, TASK_WOKEN_MSG); return t; });
    const b = named("b");
    taskWakeup(a, TASK_WOKEN_IO);
    taskWakeup(b, TASK_WOKEN_IO);
    processRunnableTasks();
    // n gets key +3-64, behind the cursor (b): HAProxy runs b first, then wraps to n.
    expect(log).toEqual(["a", "b", "n"]);
  });

  it("a nice -1024 task that wakes itself while running does not run twice in a row (N, A, B, N)", () => {
    const a = named("a");
    const b = named("b");
    taskWakeup(a, TASK_WOKEN_IO);
    taskWakeup(b, TASK_WOKEN_IO);
    const n = named("n", (t) => { if (t.calls === 1) taskWakeup(t, TASK_WOKEN_MSG); return t; });
    n.nice = -1024;
    taskWakeup(n, TASK_WOKEN_IO); // key +3-96: first
    processRunnableTasks();
    // requeued at +4-96, behind the cursor (a): HAProxy runs a and b before n again.
    expect(log).toEqual(["n", "a", "b", "n"]);
  });
});
