// A tool driver says everything netlab needs to know about one program it drives (ip, sysctl,
// iptables, …): how an action reads as a command, how a batch of its actions becomes work for
// the runner, and how the runner's answer maps back to the actions. Drivers are pure: the
// executor (src/exec) is the only code that runs anything.
import type {Action, Command} from '../core/actions.js'

/**
 * The work a runner can do. Everything a tool needs is one of these three, so a new tool needs
 * a driver and nothing else (assets/netlab-nsexec.pl knows these kinds, not the tools):
 * - netlink: requests spoken over rtnetlink by the runner itself, one op record per action
 *   (fields `key=value`, tab-separated; see encodeIp in ./ip.ts);
 * - exec: a program with its arguments, optional standard input and extra environment;
 * - sysctl: one kernel setting written under /proc/sys.
 */
export type Step =
  | {kind: 'netlink'; ops: string[]}
  | {kind: 'exec'; argv: string[]; stdin?: string; env?: Record<string, string>}
  | {kind: 'sysctl'; key: string; value: string}

/** A batch of one tool's actions in one namespace, turned into steps for a runner. */
export interface Prepared {
  tool: string
  netns: string | null
  actions: Action[]
  steps: Step[]
  /** for each step, the index (in actions) of the first action it carries */
  firstAction: number[]
  /** test-only: index of the action replaced by a command that really fails, or -1 */
  fault: number
  /** true when ip or bridge lines went to their program because the runner does not speak them */
  fallback: boolean
}

/** What the runner says about the step that failed. */
export interface StepFailure {
  /** index into Prepared.steps */
  step: number
  exitCode: number
  stderr: string
  /** netlink steps: the 1-based op that failed */
  at?: number
  /** netlink steps: 1-based ops after `at` that the kernel made anyway (sent in the same window) */
  also?: number[]
}

export interface BatchOutcome {
  applied: Action[]
  /** the action that failed (undefined when the batch succeeded or the tool cannot say which) */
  failed?: Action
  /** actions that certainly did not run */
  notRun: Action[]
  /** actions whose outcome is not known (treated as possibly applied) */
  unknown: Action[]
  error?: {command: string; stderr: string}
}

/** What a driver's prepare is told (exec/batch.ts's prepare turns the caller's options into these). */
export interface DriverOptions {
  /** test-only: index in the batch of the action to replace with a failing command, or -1 */
  fault: number
  /** may ip actions be spoken over rtnetlink by the runner (false: always the ip program) */
  netlink: boolean
}

export interface ToolDriver {
  name: string
  /** the command a person would type for this action (env and stdin are added by commandLine) */
  argv(c: Command): string[]
  /** how the action reads when its program's line with a here-document does not say it all (cni: the result threads through $cni_result) */
  line?(c: Command, plain: string): string
  /** why this argument cannot be carried by the tool's batch input, or undefined if it can */
  badArg(arg: string): string | undefined
  /**
   * Why this command, run inside a lab namespace, is not one of the changes netlab's plans undo
   * with (in the words they write them), or undefined when it is: an allowlist, since anything
   * else could reach beyond the namespace (another namespace, the host's files, a program of its
   * choosing). An undo step read from disk runs only if its tool has this and says undefined
   * (src/plan/undo-check.ts); a tool without it (cni, file) is checked there by its own rules.
   */
  confined?(c: Command): string | undefined
  /**
   * The commands that take back what this command did inside a namespace that stays (netlab
   * apply removing a route or a neighbour from a node that stays, or undoing one it added), or
   * undefined when the tool cannot say: then the change cannot be made in place.
   */
  inverse?(c: Command): Command[] | undefined
  /**
   * Whether the command makes network interfaces (ip link add). The kernel's link watch keeps a
   * new interface on a list until it handles it; the executor has it handle them before the next
   * stage brings them up (src/exec/executor.ts, syncLinks).
   */
  addsLinks?(c: Command): boolean
  prepare(actions: Action[], netns: string | null, opts: DriverOptions): Prepared
  /** the batch failed at `f`: which of its actions were applied, which failed, which never ran */
  interpret(p: Prepared, f: StepFailure): BatchOutcome
}
