/**
 * Tasks: the scheduler. HAProxy 1.8: src/task.c, include/proto/task.h, include/types/task.h.
 *
 * A task is a callback with a state, an expiry tick and two queue positions:
 *
 *            task_wakeup()                    process()
 *   sleeping ─────────────▶ run queue ─────────────────────▶ running
 *      ▲  ▲                     ▲                               │ returns the task
 *      │  └── wait queue ◀──────┼──── no pending wakeup ◀───────┤ (returns null: the task
 *      │      (by expire)       └──── pending wakeup ◀──────────┘  freed itself)
 *      └── wake_expired_tasks(): expire reached -> task_wakeup(TASK_WOKEN_TIMER)
 *
 * The run queue is ordered by an insertion counter (rqueue_ticks), shifted by the task's nice value;
 * the wait queue by expiry tick. HAProxy keeps both in ebtrees; hapoll keeps each in a binary heap
 * whose nodes are embedded in the task (allocated once with it), ordered by the signed difference
 * of 32-bit keys, which is the same order as the tree's as long as keys are less than 2^31 apart.
 * Like HAProxy, task_queue() is lazy: a task whose expiry moved later stays where it is, and
 * wake_expired_tasks() requeues it when it gets there.
 */
import { clock } from "./clock";
import { TICK_ETERNITY, tickFirst, tickIsExpired, tickIsLt, tickIsSet } from "./ticks";

/** HAProxy: TASK_* state bits. */
export const TASK_SLEEPING = 0x00;
export const TASK_RUNNING = 0x01;
export const TASK_WOKEN_INIT = 0x02;
export const TASK_WOKEN_TIMER = 0x04;
export const TASK_WOKEN_IO = 0x08;
export const TASK_WOKEN_SIGNAL = 0x10;
export const TASK_WOKEN_MSG = 0x20;
export const TASK_WOKEN_RES = 0x40;
export const TASK_WOKEN_OTHER = 0x80;
export const TASK_WOKEN_ANY = 0xfe;

/** At most this many tasks run per call of processRunnableTasks() (HAProxy: max_processed = 200). */
export const MAX_TASKS_PER_TURN = 200;

/** A position in one of the two heaps (HAProxy: struct eb32_node embedded in struct task). */
export class QueueNode {
  /** Ordering key: a tick (wait queue) or an insertion count (run queue). */
  key = 0;
  /** Tie-breaker: equal keys leave in insertion order, as in an ebtree. */
  seq = 0;
  /** Index in the heap array, -1 when not queued. */
  idx = -1;
  /** The heap this node is in (the run queue has two during a walk, see processRunnableTasks). */
  heap: TickHeap | null = null;
  constructor(readonly task: Task) {}
}

/** A task's handler. Returns the task to keep it, or null when it freed itself. HAProxy: t->process. */
export type TaskProcess = (t: Task) => Task | null;

/** HAProxy: struct task. */
export class Task {
  /** TASK_* bits. */
  state = TASK_SLEEPING;
  /** Wake-ups that arrived while the task was running. */
  pendingState = 0;
  /** -1024..1024: shifts the run-queue position, in 32ths of the queue length. */
  nice = 0;
  /** How many times process() ran. */
  calls = 0;
  /** Expiry tick, TICK_ETERNITY when none. */
  expire = TICK_ETERNITY;
  /** Position in the run queue. */
  readonly rq: QueueNode = new QueueNode(this);
  /** Position in the wait queue. */
  readonly wq: QueueNode = new QueueNode(this);
  constructor(public process: TaskProcess, public context: unknown = null) {}
}

/**
 * A binary min-heap of QueueNodes ordered by (key as a wrapping int32 difference, then seq).
 */
export class TickHeap {
  /**
   * The heap is nodes[0 .. len). The array only grows: slots past <len> are cleared, never popped,
   * because a pop() to empty and a push() again make V8 shrink then reallocate the backing store,
   * an allocation each time a task is woken while the run queue was empty.
   */
  nodes: (QueueNode | null)[] = [];
  private len = 0;
  private seq = 0;

  get size(): number {
    return this.len;
  }

  /** The first node, or null. */
  first(): QueueNode | null {
    return this.len !== 0 ? this.nodes[0] : null;
  }

  /** Insert <n> (not already in). */
  insert(n: QueueNode): void {
    n.seq = this.seq++;
    n.heap = this;
    const a = this.nodes;
    if (this.len === a.length) a.push(n);
    else a[this.len] = n;
    this.len++;
    this.up(this.len - 1);
  }

  /** Remove <n> (must be in this heap). */
  delete(n: QueueNode): void {
    const a = this.nodes;
    const i = n.idx;
    n.idx = -1;
    n.heap = null;
    const last = a[--this.len]!;
    a[this.len] = null;
    if (last === n) return;
    a[i] = last;
    last.idx = i;
    this.down(i);
    this.up(last.idx);
  }

  private static less(x: QueueNode, y: QueueNode): boolean {
    const d = (x.key - y.key) | 0;
    if (d !== 0) return d < 0;
    return x.seq - y.seq < 0;
  }

  private up(i: number): void {
    const a = this.nodes as QueueNode[];
    const n = a[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!TickHeap.less(n, a[p])) break;
      a[i] = a[p];
      a[i].idx = i;
      i = p;
    }
    a[i] = n;
    n.idx = i;
  }

  private down(i: number): void {
    const a = this.nodes as QueueNode[];
    const len = this.len;
    const n = a[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= len) break;
      if (c + 1 < len && TickHeap.less(a[c + 1], a[c])) c++;
      if (!TickHeap.less(a[c], n)) break;
      a[i] = a[c];
      a[i].idx = i;
      i = c;
    }
    a[i] = n;
    n.idx = i;
  }
}

/** The scheduler's state (HAProxy: the globals of src/task.c). */
export const sched = {
  /** HAProxy: rqueue. */
  runQueue: new TickHeap(),
  /**
   * Tasks woken during a run-queue walk with a key behind the walk's cursor: HAProxy's walk only
   * reaches them after wrapping to the start of the tree, i.e. after every task ahead of it.
   */
  runQueueBehind: new TickHeap(),
  /** Whether processRunnableTasks() is walking, and the key of the task it took last. */
  walking: false,
  /** The key of the next task the walk will take (HAProxy: rq_next), when there is one. */
  hasCursor: false,
  cursor: 0,
  /** HAProxy: timers. */
  waitQueue: new TickHeap(),
  /** HAProxy: rqueue_ticks, the insertion counter. */
  rqueueTicks: 0,
  /** HAProxy: nb_tasks. */
  nbTasks: 0,
  /** HAProxy: curr_task. */
  currTask: null as Task | null,
};

/** Hook for traces: called on every wake-up with (task, reason bits); null when off. */
export const taskHooks: {
  onWakeup: ((t: Task, f: number) => void) | null;
  /** process_runnable_tasks is about to run <t>. */
  onRun: ((t: Task) => void) | null;
} = { onWakeup: null, onRun: null };

/** HAProxy: task_new(). */
export function taskNew(process: TaskProcess, context: unknown = null): Task {
  sched.nbTasks++;
  return new Task(process, context);
}

/** HAProxy: task_in_rq(). */
export function taskInRq(t: Task): boolean {
  return t.rq.idx !== -1;
}

/** HAProxy: task_in_wq(). */
export function taskInWq(t: Task): boolean {
  return t.wq.idx !== -1;
}

/** HAProxy: __task_wakeup(): insert into the run queue; state becomes the pending wake-ups. */
function taskWakeupInsert(t: Task): void {
  let key = ++sched.rqueueTicks | 0;
  sched.rqueueTicks = key;
  if (t.nice !== 0) {
    const len = sched.runQueue.size + sched.runQueueBehind.size + 1;
    const offset = t.nice > 0 ? Math.floor((len * t.nice) / 32) : -Math.floor((len * -t.nice) / 32);
    key = (key + offset) | 0;
  }
  t.rq.key = key;
  t.state = t.pendingState;
  if (sched.walking && sched.hasCursor && ((key - sched.cursor) | 0) < 0) sched.runQueueBehind.insert(t.rq);
  else sched.runQueue.insert(t.rq);
}

/** HAProxy: task_wakeup(): make <t> run soon with reason <f> (TASK_WOKEN_*). */
export function taskWakeup(t: Task, f: number): void {
  if (taskHooks.onWakeup !== null) taskHooks.onWakeup(t, f);
  if (t.state & TASK_RUNNING) {
    t.pendingState |= f;
    return;
  }
  if (t.rq.idx === -1) taskWakeupInsert(t);
  t.state |= f;
}

/** HAProxy: task_unlink_wq(). */
export function taskUnlinkWq(t: Task): void {
  if (t.wq.idx !== -1) sched.waitQueue.delete(t.wq);
}

/** HAProxy: task_unlink_rq(). */
export function taskUnlinkRq(t: Task): void {
  if (t.rq.heap !== null) t.rq.heap.delete(t.rq);
}

/** HAProxy: __task_queue(): (re)insert into the wait queue at t.expire. */
function taskQueueInsert(t: Task): void {
  if (t.wq.idx !== -1) sched.waitQueue.delete(t.wq);
  t.wq.key = t.expire;
  sched.waitQueue.insert(t.wq);
}

/**
 * HAProxy: task_queue(). Queue <t> by its expiry; lazy: a task already queued no later than its new
 * expiry stays where it is.
 */
export function taskQueue(t: Task): void {
  if (!tickIsSet(t.expire)) return;
  if (t.wq.idx === -1 || tickIsLt(t.expire, t.wq.key)) taskQueueInsert(t);
}

/** HAProxy: task_schedule(): make <t> expire no later than <when>; nothing if it is runnable. */
export function taskSchedule(t: Task, when: number): void {
  if (t.rq.idx !== -1) return;
  if (t.wq.idx !== -1) when = tickFirst(when, t.expire);
  t.expire = when;
  if (t.wq.idx === -1 || tickIsLt(t.expire, t.wq.key)) taskQueueInsert(t);
}

/** HAProxy: task_delete(): take <t> out of both queues. */
export function taskDelete(t: Task): void {
  taskUnlinkWq(t);
  taskUnlinkRq(t);
}

/** HAProxy: task_free(). The task must be out of both queues. */
export function taskFree(t: Task): void {
  if (sched.currTask === t) sched.currTask = null;
  sched.nbTasks--;
}

/**
 * HAProxy: wake_expired_tasks(). Wake every task whose expiry is reached; requeue the ones that
 * were left early by the lazy task_queue(). Returns the next expiry, or TICK_ETERNITY.
 */
export function wakeExpiredTasks(): number {
  const wq = sched.waitQueue;
  const now = clock.nowMs;
  for (;;) {
    const n = wq.first();
    if (n === null) return TICK_ETERNITY;
    if (tickIsLt(now, n.key)) return n.key;
    const t = n.task;
    wq.delete(n);
    if (!tickIsExpired(t.expire, now)) {
      if (tickIsSet(t.expire)) taskQueueInsert(t);
      continue;
    }
    taskWakeup(t, TASK_WOKEN_TIMER);
  }
}

/**
 * HAProxy: process_runnable_tasks(). Run up to MAX_TASKS_PER_TURN tasks in run-queue order. A task
 * that returns itself goes back to the run queue if it was woken while running, else to the wait
 * queue by its expiry.
 */
export function processRunnableTasks(): void {
  let max = MAX_TASKS_PER_TURN;
  sched.walking = true;
  sched.hasCursor = true;
  while (max-- > 0) {
    // No cursor: HAProxy's walk fell off the end of the tree and restarts from its first node,
    // which may be one of the tasks that were inserted behind the old cursor.
    if (!sched.hasCursor) mergeBehind();
    const n = sched.runQueue.first();
    if (n === null) break;
    let t: Task | null = n.task;
    sched.runQueue.delete(n);
    // HAProxy takes the next node (its cursor) before running the task.
    const next = sched.runQueue.first();
    sched.hasCursor = next !== null;
    if (next !== null) sched.cursor = next.key;
    t.state |= TASK_RUNNING;
    t.pendingState = 0;
    t.calls++;
    sched.currTask = t;
    if (taskHooks.onRun !== null) taskHooks.onRun(t);
    t = t.process(t);
    sched.currTask = null;
    if (t !== null) {
      t.state &= ~TASK_RUNNING;
      if (t.pendingState) taskWakeupInsert(t);
      else taskQueue(t);
    }
  }
  sched.walking = false;
  // The next call starts from the lowest key again: one queue is enough between walks.
  mergeBehind();
}

function mergeBehind(): void {
  const behind = sched.runQueueBehind;
  while (behind.size) {
    const n = behind.first()!;
    behind.delete(n);
    sched.runQueue.insert(n);
  }
}

/** True when tasks wait in the run queue (the loop must not sleep). */
export function runQueueNonEmpty(): boolean {
  return sched.runQueue.size !== 0 || sched.runQueueBehind.size !== 0;
}

/** Drop every task (tests, deinit). */
export function resetScheduler(): void {
  for (const h of [sched.runQueue, sched.runQueueBehind, sched.waitQueue]) {
    for (const n of h.nodes) {
      if (n === null) continue;
      n.idx = -1;
      n.heap = null;
    }
  }
  sched.runQueue = new TickHeap();
  sched.runQueueBehind = new TickHeap();
  sched.waitQueue = new TickHeap();
  sched.walking = false;
  sched.rqueueTicks = 0;
  sched.nbTasks = 0;
  sched.currTask = null;
}
