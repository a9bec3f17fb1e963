// Hairpin mode off on an endpoint pod's port of cni0: the pod can no longer reach itself
// through its own Service (kube-proxy sends the connection back out the port it came in on).
import {restore, type FaultModule} from './types.js'

export const hairpin: FaultModule = {
  kind: 'hairpin',
  text: "hairpin mode off on an endpoint pod's bridge port: the pod cannot reach itself through its Service",
  sites: ({model, plan, memberOf}) => {
    const endpoints = new Set(model.services?.list.flatMap((s) => s.ports.flatMap((p) => p.endpoints.map((e) => e.pod))) ?? [])
    const pods = model.nodes.flatMap((n) => n.pods)
    return plan.actions.flatMap((a) => {
      const [obj, verb, devWord, dev, flag, value] = a.args
      if (a.tool !== 'bridge' || obj !== 'link' || verb !== 'set' || devWord !== 'dev' || flag !== 'hairpin' || value !== 'on') return []
      const pod = pods.find((p) => p.hostVeth === dev && memberOf(a)?.name === p.node)
      if (!pod || !endpoints.has(pod.name)) return []
      return [
        {
          netns: a.netns!,
          tool: 'bridge',
          args: ['link', 'set', 'dev', dev, 'hairpin', 'off'],
          undo: restore(a),
          what: `turned hairpin mode off on ${pod.name}'s port of cni0 (${dev}) on ${pod.node}`,
        },
      ]
    })
  },
}
