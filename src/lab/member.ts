// A lab member named the way the lab names it (node-0, web-0, vpc-router, internet), for the
// commands that work inside one: exec, shell, capture.
import {NetlabError, UsageError} from '../core/errors.js'
import type {Member} from '../model/types.js'
import {existingNetns} from '../state/store.js'
import {requireState} from './require-state.js'
import {resolveLab} from './status.js'

export interface LabMember {
  lab: string
  member: Member
}

/** Members listed in an error message before the rest are counted (a 50-node lab has 552). */
const LISTED = 20

/** The member called `name` in the lab given (or the only lab up), whose namespace exists. */
export function findMember(name: string, labArg: string | undefined, verb: string): LabMember {
  const lab = resolveLab(labArg, `${verb} --lab`)
  const state = requireState(lab)
  const members = state.model.members
  const member = members.find((m) => m.name === name)
  if (!member) {
    const names = members.map((m) => m.name)
    const listed =
      names.slice(0, LISTED).join(', ') + (names.length > LISTED ? ` and ${names.length - LISTED} more (netlab status ${lab})` : '')
    throw new UsageError(`lab ${lab} has no member named "${name}"; its members: ${listed}`)
  }
  if (!existingNetns().has(member.netns)) {
    throw new NetlabError(
      `${member.name}'s namespace ${member.netns} does not exist ` +
        `(${state.status === 'building' ? `lab ${lab} is still being built` : `see netlab status ${lab}`})`,
    )
  }
  return {lab, member}
}
