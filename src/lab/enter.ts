// Working inside a lab member's namespace: `netlab exec` (one command), `netlab shell` (an
// interactive shell whose prompt names the member) and `netlab capture` (tcpdump). Each is
// `ip netns exec <namespace> …` on netlab's own terminal, so the user types lab names instead
// of namespace names; the program's exit code becomes netlab's.
import {closeSync, openSync} from 'node:fs'
import {resolve} from 'node:path'
import {UsageError} from '../core/errors.js'
import {run, runAttached} from '../exec/runner.js'
import {asset} from '../core/paths.js'
import type {LabMember} from './member.js'
import {CAPTURE_TOOLS, ENTER_TOOLS, findTool, isExecutable, requireRoot, requireTools, SHELL_TOOLS} from '../host/preflight.js'

/** Variables a program started in a member can read: which lab and member it is in. */
function memberEnv({lab, member}: LabMember): Record<string, string> {
  return {NETLAB_LAB: lab, NETLAB_MEMBER: member.name, NETLAB_NETNS: member.netns}
}

function inNetns({member}: LabMember, argv: string[]): [string, string[]] {
  return ['ip', ['netns', 'exec', member.netns, ...argv]]
}

/** Run one command in the member's namespace; resolves to its exit code (127: no such command, as a shell says). */
export async function execIn(target: LabMember, argv: string[]): Promise<number> {
  requireRoot('netlab exec')
  requireTools(ENTER_TOOLS)
  const [program] = argv
  // the namespace shares the machine's files, so the command is found (or not) here already
  if (!(program.includes('/') ? isExecutable(program) : findTool(program))) {
    process.stderr.write(`netlab: ${program}: command not found\n`)
    return 127
  }
  const [file, args] = inNetns(target, argv)
  return runAttached(file, args, {env: memberEnv(target)})
}

/** The prompt of a shell in a member: "[three-node/node-0] # ". */
export function shellPrompt({lab, member}: LabMember): string {
  return `[${lab}/${member.name}] # `
}

/**
 * On a terminal, an interactive bash in the member's namespace. Its rc file
 * (assets/netlab-bashrc) reads the user's own ~/.bashrc first and then sets the prompt, so
 * aliases stay and the prompt says where the shell is. Fed commands without a terminal
 * (`echo cmd | netlab shell`), a plain bash reads them as a script: an interactive one would
 * complain that it has no terminal for job control, and prompt nobody.
 */
export async function shellIn(target: LabMember): Promise<number> {
  requireRoot('netlab shell')
  requireTools(SHELL_TOOLS)
  const [file, args] = inNetns(target, shellArgs(Boolean(process.stdin.isTTY)))
  return runAttached(file, args, {env: {...memberEnv(target), NETLAB_PS1: shellPrompt(target)}})
}

/** The bash of `netlab shell`: interactive with netlab's rc file on a terminal, else reading stdin as a script. Pure. */
function shellArgs(interactive: boolean): string[] {
  return interactive ? ['bash', '--rcfile', asset('netlab-bashrc'), '-i'] : ['bash', '--norc', '--noprofile', '-s']
}

export interface CaptureOptions {
  /** the interface (default: the member's first one, eth0 — or br0 in the fabric) */
  iface?: string
  /** stop after this many packets */
  count?: number
  /** write a pcap here instead of printing packets */
  write?: string
  /** more tcpdump arguments: a filter expression, -v, … */
  extra?: string[]
}

/** The tcpdump arguments: no name lookups (they would leave the lab), line-buffered or a pcap on stdout. */
export function tcpdumpArgs(target: LabMember, opts: CaptureOptions): string[] {
  const iface = opts.iface ?? (target.member.kind === 'fabric' ? 'br0' : 'eth0')
  return [
    'tcpdump',
    '-i',
    iface,
    '-n',
    ...(opts.count ? ['-c', String(opts.count)] : []),
    ...(opts.write ? ['-U', '-w', '-'] : ['-l']),
    ...(opts.extra ?? []),
  ]
}

/**
 * tcpdump in the member's namespace. A pcap (-w FILE) is written by netlab from tcpdump's
 * stdout, not by tcpdump itself: tcpdump drops root before it opens its file, and the file
 * belongs where the user said, whatever tcpdump's user may write.
 */
export async function captureIn(target: LabMember, opts: CaptureOptions): Promise<number> {
  requireRoot('netlab capture')
  requireTools(CAPTURE_TOOLS)
  const argv = tcpdumpArgs(target, opts)
  await requireInterface(target, argv[2])
  const [file, args] = inNetns(target, argv)
  if (!opts.write) return runAttached(file, args, {env: memberEnv(target)})
  const fd = openSync(resolve(opts.write), 'w')
  try {
    return await runAttached(file, args, {env: memberEnv(target), stdoutFd: fd})
  } finally {
    closeSync(fd)
  }
}

/** A wrong interface name is bad input (exit 2), told with the member's real interfaces. */
async function requireInterface({member}: LabMember, iface: string): Promise<void> {
  if (iface === 'any') return
  const r = await run('ip', ['-n', member.netns, '-o', 'link', 'show'])
  // "2: eth0@if4: <…" -> eth0
  const names = r.stdout
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((x): x is string => !!x)
  if (r.exitCode === 0 && !names.includes(iface))
    throw new UsageError(`${member.name} has no interface ${iface}; its interfaces: ${names.join(', ')} (or any)`)
}
