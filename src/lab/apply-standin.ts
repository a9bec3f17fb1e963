// A stand-in for src/lab/apply.ts (issue 25's `netlab apply`, being written beside this): the same
// signature, so the shortcuts are built against it. It goes when apply lands.
import {NetlabError} from '../core/errors.js'
import type {Plan} from '../core/actions.js'

export interface ApplyOptions {
  dryRun?: boolean
}

export interface ApplyResult {
  lab: string
  changed: boolean
  actions: number
  dryRun: boolean
  plan: Plan
  summary: string[]
}

export function applyTopology(source: {file: string} | {name: string; text: string}, opts: ApplyOptions): Promise<ApplyResult> {
  const what = 'file' in source ? source.file : source.name
  return Promise.reject(new NetlabError(`netlab apply is not built yet: ${what} was not applied${opts.dryRun ? ' (dry run)' : ''}`))
}
