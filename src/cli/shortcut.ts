// What the shortcuts share (netlab pod add|delete, node add|delete): their flags, and printing
// what the apply of their edit did, as `netlab apply` prints it.
import {Flags} from '@oclif/core'
import {NetlabCommand} from './base.js'
import {renderPlan} from '../plan/render.js'
import {applyJson, applyText, type ApplyResult} from '../lab/apply.js'
import {printWarnings} from '../lab/load.js'

export abstract class ShortcutCommand extends NetlabCommand {
  static shortcutFlags = {
    lab: NetlabCommand.labFlag,
    'dry-run': Flags.boolean({description: 'print the plan of the change and run nothing; the lab keeps its topology', default: false}),
    json: NetlabCommand.jsonFlag,
  }

  protected report(result: ApplyResult, json: boolean): void {
    printWarnings(result.warnings)
    if (json) return this.printJson(applyJson(result))
    this.log(applyText(result, (p) => renderPlan(p, 'text')))
  }
}
