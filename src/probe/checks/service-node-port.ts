// What the two NodePort checks share: their plan (each takes the NodePorts of its
// externalTrafficPolicy) and what they say when the lab has none.
import type {ServiceModel} from '../../model/types.js'
import {servesOf, toolOf, viaNodePort} from '../services.js'
import {planOver, type NoteContext} from './types.js'
import {nodePortPairs} from './walks.js'

export const nodePortPlan = (policy: ServiceModel['externalTrafficPolicy']) =>
  planOver(nodePortPairs, ({client, target, s}, add, {model, node}) => {
    if (s.svc.externalTrafficPolicy !== policy) return
    add(toolOf(s), client, node(target), s.port.nodePort, {expect: viaNodePort(model, client, target, s), serves: servesOf(model, s)})
  })

export const noNodePorts = (ctx: NoteContext, id: string, policy: string): string | undefined =>
  ctx.probes.some((p) => p.check === id) ? undefined : `no NodePort Service with externalTrafficPolicy ${policy} has endpoints`
