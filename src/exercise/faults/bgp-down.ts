// bgp-down: BIRD stops on one node as a node that dies does (SIGKILL: no goodbye to its peers).
// Nothing in the kernel is touched: its peers stop hearing it and, after the hold time, withdraw
// its block by themselves; fix starts it again and the routes come back. Run by break and fix
// through src/lab/bird.ts (the daemon is a recorded process), not by the executor.
import type {FaultModule} from './types.js'
import {BGP_TIMERS} from '../../modes/bgp-peers.js'

export const bgpDown: FaultModule = {
  kind: 'bgp-down',
  text: 'BIRD stopped on a node (routing bgp): its peers withdraw its pods within the hold time',
  sites({model}) {
    if (!model.bgp) return []
    // a node with pods: the probe sees its block go
    return model.nodes
      .filter((n) => n.pods.length > 0)
      .map((n) => ({
        netns: n.netns,
        tool: 'bird',
        args: ['kill', n.name],
        undo: [{tool: 'bird', netns: n.netns, args: ['start', n.name]}],
        what: `killed BIRD on ${n.name} (SIGKILL, as a node that dies: its peers hear nothing more and drop its routes after the ${BGP_TIMERS.holdS} s hold time)`,
      }))
  },
}
