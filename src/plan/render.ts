// A plan as text (to read), as a bash script (to run by hand: the hard way), or as JSON.
import {commandLine, shellQuote} from './command.js'
import type {Action, Plan} from './types.js'

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
    `Plan for lab "${plan.lab}": ${plan.actions.length} actions in ${plan.phases.length} ` + `phases. Nothing has been run.`,
    '',
  ]
  for (const [i, {phase, actions}] of byPhase(plan).entries()) {
    out.push(`${i + 1}. ${phase.title}`, wrap(phase.why, 88, '   '), '')
    for (const a of actions) out.push(`   $ ${commandLine(a)}`, `     # ${a.why}`)
    out.push('')
  }
  return out.join('\n')
}

export function renderShell(plan: Plan): string {
  const created = plan.actions.filter((a) => a.creates).map((a) => a.creates!)
  const out = [
    '#!/usr/bin/env bash',
    `# Lab "${plan.lab}", built by hand: the same commands netlab runs (netlab batches them for speed).`,
    '# Run as root on a machine you can experiment on. Everything lives in network namespaces;',
    "# the host's own network is not touched.",
    '# If a command fails, the trap below deletes the namespaces created so far.',
    'set -euo pipefail',
    '',
    'created=()',
    'cleanup() { for ns in "${created[@]}"; do ip netns del "$ns" 2>/dev/null || true; done; }',
    'trap \'echo "failed: $BASH_COMMAND" >&2; cleanup\' ERR',
    '',
  ]
  for (const [i, {phase, actions}] of byPhase(plan).entries()) {
    out.push(`# ${i + 1}. ${phase.title}`, wrap(phase.why, 88, '# '))
    for (const a of actions) {
      const line = commandLine(a)
      const why = `# ${a.why.replace(/\n/g, ' ')}`
      // a here-document's terminator must stand alone on its line: the why goes above it
      out.push(line.includes('\n') ? `${why}\n${line}` : `${line}  ${why}`)
      if (a.creates) out.push(`created+=(${shellQuote(a.creates)})`)
    }
    out.push('')
  }
  out.push(
    'trap - ERR',
    `echo "lab ${plan.lab} is up"`,
    '',
    '# To tear it down:',
    ...created.map((ns) => `#   ip netns del ${shellQuote(ns)}`),
    '',
  )
  return out.join('\n')
}

export function renderJson(plan: Plan): string {
  return JSON.stringify({lab: plan.lab, phases: plan.phases, actions: plan.actions.map((a) => ({...a, command: commandLine(a)}))}, null, 2)
}

export function renderPlan(plan: Plan, format: PlanFormat): string {
  return format === 'sh' ? renderShell(plan) : format === 'json' ? renderJson(plan) : renderText(plan)
}
