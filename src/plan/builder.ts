// Collects phases and actions in order, numbering them and filling in how each is undone.
import {driver} from '../tools/index.js'
import {netnsDel} from '../tools/ip.js'
import type {Action, Command, Phase, Plan, Tool, Undo} from '../core/actions.js'

export class PlanBuilder {
  private phases: Phase[] = []
  private actions: Action[] = []
  private current?: Phase

  constructor(private lab: string) {}

  phase(p: Phase): this {
    this.phases.push(p)
    this.current = p
    return this
  }

  /** A command run inside lab namespace `netns` (with `stdin` as its input, if given); deleting that namespace undoes it. */
  inNetns(netns: string, tool: Tool, args: string[], why: string, stdin?: string): this {
    return this.push({netns, tool, args, ...(stdin === undefined ? {} : {stdin}), why, undo: {kind: 'netns', netns}})
  }

  /** A command run from the root namespace that only creates things inside `owner` (and other lab namespaces). */
  intoNetns(owner: string, args: string[], why: string): this {
    return this.push({netns: null, tool: 'ip', args, why, undo: {kind: 'netns', netns: owner}})
  }

  createNetns(netns: string, why: string): this {
    return this.push({
      netns: null,
      tool: 'ip',
      args: ['netns', 'add', netns],
      why,
      creates: netns,
      undo: {kind: 'commands', commands: [netnsDel(netns)]},
    })
  }

  /** A change to a lab that is up (netlab policy apply): undone by running `undo`, never by deleting a namespace. */
  change(c: Command, why: string, undo: Command[]): this {
    return this.push({...c, why, undo: {kind: 'commands', commands: undo}})
  }

  /** A CNI plugin call: undone by the plugin's DEL, which also runs when the call itself failed. */
  cniCall(c: Command, why: string, del: Command): this {
    return this.push({...c, why, undoFailed: true, undo: {kind: 'commands', commands: [del]}})
  }

  /** An action as another plan made it (netlab apply's change plan): its command and why, with the undo given. */
  copy(c: Command, why: string, undo: Undo, undoFailed?: boolean): this {
    return this.push({...c, why, undo, ...(undoFailed ? {undoFailed} : {})})
  }

  build(): Plan {
    return {lab: this.lab, phases: this.phases, actions: this.actions}
  }

  private push(a: Omit<Action, 'id' | 'phase'>): this {
    if (!this.current) throw new Error('PlanBuilder: add a phase before actions')
    // each tool's batch input has its own limits (ip -batch: no line breaks, say)
    const d = driver(a.tool)
    for (const arg of a.args) {
      const bad = d.badArg(arg)
      if (bad) throw new Error(`plan argument ${JSON.stringify(arg)} for ${a.tool} ${bad}`)
    }
    this.actions.push({id: this.actions.length, phase: this.current.id, ...a})
    return this
  }
}
