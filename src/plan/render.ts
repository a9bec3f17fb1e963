// A plan as text (to read), as a bash script (to run by hand: the hard way), or as JSON.
import {commandLine} from '../tools/command.js'
import {shellQuote} from '../core/shell.js'
import {ownerMark} from '../core/names.js'
import type {Action, Plan} from '../core/actions.js'
import {plural} from '../core/plural.js'

export type PlanFormat = 'text' | 'sh' | 'json'

function byPhase(plan: Plan): {phase: Plan['phases'][number]; actions: Action[]}[] {
  const groups = plan.phases.map((phase) => ({phase, actions: [] as Action[]}))
  const index = new Map(plan.phases.map((p, i) => [p.id, i]))
  for (const a of plan.actions) groups[index.get(a.phase)!].actions.push(a)
  return groups
}

function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/)) {
    if (line && (line + ' ' + word).length > width) {
      lines.push(indent + line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) lines.push(indent + line)
  return lines.join('\n')
}

export function renderText(plan: Plan): string {
  const out: string[] = [
    `Plan for lab "${plan.lab}": ${plural(plan.actions.length, 'action')} in ${plural(plan.phases.length, 'phase')}. ` +
      `Nothing has been run.`,
    '',
  ]
  for (const [i, {phase, actions}] of byPhase(plan).entries()) {
    out.push(`${i + 1}. ${phase.title}`, wrap(phase.why, 88, '   '), '')
    for (const a of actions) out.push(`   $ ${commandLine(a)}`, `     # ${a.why}`)
    out.push('')
  }
  return out.join('\n')
}

export interface ShellOptions {
  /** the mark (alias of lo) the plan gives each namespace: `down` deletes only namespaces that carry it */
  owner?: string
}

/** What the build script and the teardown script share: the lab's namespaces, its mark, and down(). */
function teardownBlock(plan: Plan, owner: string): string[] {
  const lab = plan.lab
  return [
    "# Every namespace of the lab in creation order, and the mark (the alias of each one's lo) that",
    "# says it is this lab's: down deletes only namespaces that carry it, as netlab down does.",
    `NAMESPACES=(${plan.actions
      .filter((a) => a.creates)
      .map((a) => shellQuote(a.creates!))
      .join(' ')})`,
    `MARK=${shellQuote(owner)}`,
    '',
    'down() {',
    '  local i ns n=0',
    '  for ((i = ${#NAMESPACES[@]} - 1; i >= 0; i--)); do',
    '    ns=${NAMESPACES[i]}',
    '    [ -e "/run/netns/$ns" ] || continue',
    '    if [ "$(ip netns exec "$ns" cat /sys/class/net/lo/ifalias 2>/dev/null)" = "$MARK" ]; then',
    '      ip netns del "$ns"',
    '      n=$((n + 1))',
    '    else',
    `      echo "left alone: $ns is named like lab ${lab}'s but does not carry its mark" >&2`,
    '    fi',
    '  done',
    `  echo "lab ${lab} is down: $n namespace(s) deleted"`,
    '}',
    '',
  ]
}

const SHELL_HEADER = [
  '# Run as root on a machine you can experiment on. Everything lives in network namespaces;',
  "# the host's own network is not touched.",
]

export function renderShell(plan: Plan, opts: ShellOptions = {}): string {
  const lab = plan.lab
  const out = [
    '#!/usr/bin/env bash',
    `# Lab "${lab}", built by hand: the same commands netlab runs (netlab batches them for speed).`,
    ...SHELL_HEADER,
    '#   bash THIS-FILE        build the lab; a failing command or Ctrl-C deletes what it created',
    '#   bash THIS-FILE down   tear it down (netlab down does the same)',
    '# Once it is built, prove it works: netlab probe --topology TOPOLOGY-FILE',
    'set -euo pipefail',
    '',
    ...teardownBlock(plan, opts.owner ?? ownerMark(lab)),
    'case "${1:-up}" in',
    '  up) ;;',
    '  down) down; exit 0 ;;',
    '  *) echo "usage: bash $0 [up|down]" >&2; exit 2 ;;',
    'esac',
    '',
    "# None of the lab's namespaces may exist yet: then every one that exists below is this run's,",
    '# and rolling back may delete it.',
    'for ns in "${NAMESPACES[@]}"; do',
    `  if [ -e "/run/netns/$ns" ]; then echo "namespace $ns already exists: is lab ${lab} up? (bash $0 down removes it)" >&2; exit 1; fi`,
    'done',
    '',
    '# On a failing command, Ctrl-C (INT) or TERM: delete the namespaces created so far (each one is',
    '# remembered before it is created, so an interruption in between leaves nothing), exit 1, 130, 143.',
    'created=()',
    'rollback() {',
    '  trap - ERR INT TERM',
    '  local i',
    '  for ((i = ${#created[@]} - 1; i >= 0; i--)); do ip netns del "${created[i]}" 2>/dev/null || true; done',
    `  echo "rolled back: \${#created[@]} namespace(s) deleted; nothing of lab ${lab} is left" >&2`,
    '}',
    'trap \'echo "failed: $BASH_COMMAND" >&2; rollback; exit 1\' ERR',
    'trap \'echo "interrupted" >&2; rollback; exit 130\' INT',
    'trap \'echo "terminated" >&2; rollback; exit 143\' TERM',
    '',
  ]
  for (const [i, {phase, actions}] of byPhase(plan).entries()) {
    out.push(`# ${i + 1}. ${phase.title}`, wrap(phase.why, 88, '# '))
    for (const a of actions) {
      if (a.creates) out.push(`created+=(${shellQuote(a.creates)})`)
      const line = commandLine(a)
      const why = `# ${a.why.replace(/\n/g, ' ')}`
      // a here-document's terminator must stand alone on its line: the why goes above it
      out.push(line.includes('\n') ? `${why}\n${line}` : `${line}  ${why}`)
    }
    out.push('')
  }
  out.push('trap - ERR INT TERM', `echo "lab ${lab} is up"`, '')
  return out.join('\n')
}

/** `netlab plan --format sh --teardown`: a script that only tears the lab down. */
export function renderTeardown(plan: Plan, opts: ShellOptions = {}): string {
  return [
    '#!/usr/bin/env bash',
    `# Lab "${plan.lab}", torn down by hand: deletes its namespaces (and with them every link,`,
    '# route and rule in them). What a namespace holds goes with it: nothing else needs undoing.',
    ...SHELL_HEADER,
    'set -euo pipefail',
    '',
    ...teardownBlock(plan, opts.owner ?? ownerMark(plan.lab)),
    'down',
    '',
  ].join('\n')
}

export function renderJson(plan: Plan): string {
  return JSON.stringify({lab: plan.lab, phases: plan.phases, actions: plan.actions.map((a) => ({...a, command: commandLine(a)}))}, null, 2)
}

export function renderPlan(plan: Plan, format: PlanFormat, opts: ShellOptions = {}): string {
  return format === 'sh' ? renderShell(plan, opts) : format === 'json' ? renderJson(plan) : renderText(plan)
}
