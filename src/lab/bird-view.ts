// `netlab bgp [LAB] [NODE]`: BIRD's own words, through each daemon's control socket.
import {UsageError} from '../core/errors.js'
import {requireRoot} from '../host/preflight.js'
import {netlabCmd} from '../core/invocation.js'
import {birdc, speakerPid, speakerState, speakers} from './bird.js'
import {requireState} from './require-state.js'
import {resolveLab} from './status.js'

export async function birdView(labArg: string | undefined, node: string | undefined): Promise<string> {
  const lab = resolveLab(labArg, 'bgp')
  const model = requireState(lab).model
  if (!model.bgp) throw new UsageError(`lab ${lab} has routing ${model.routing}: no BGP (routing bgp runs BIRD on every node)`)
  const all = speakers(model)
  const picked = node === undefined ? all : all.filter((s) => s.name === node)
  if (picked.length === 0) throw new UsageError(`lab ${lab} has no BGP speaker "${node}" (${all.map((s) => s.name).join(', ')})`)
  requireRoot(`${netlabCmd()} bgp`) // the sockets are root's
  const parts = await Promise.all(
    picked.map(async (s) => {
      const pid = speakerPid(lab, s.name)
      if (pid === undefined) return `== ${s.name}: BIRD is not running`
      if (speakerState(lab, s.name) === 'frozen') return `== ${s.name}: BIRD (pid ${pid}) is frozen (stopped): it answers nothing`
      const [protocols, routes] = await Promise.all([birdc(model, s.name, ['show', 'protocols']), birdc(model, s.name, ['show', 'route'])])
      return [
        `== ${s.name} (AS ${s.as}, BIRD pid ${pid})`,
        '$ birdc show protocols',
        protocols.text,
        '$ birdc show route',
        routes.text,
      ].join('\n')
    }),
  )
  return parts.join('\n\n')
}
