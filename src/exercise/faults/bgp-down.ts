// bgp-down: BIRD goes quiet on one node, as a node that hangs or loses power does (SIGSTOP: it
// sends nothing more, not even a keepalive, and says no goodbye). Nothing in the kernel is
// touched: its peers stop hearing it and, when the hold time runs out, withdraw its block by
// themselves; fix starts it afresh and the routes come back. Run by break and fix
// through src/lab/bird.ts (the daemon is a recorded process), not by the executor.
import type {FaultModule} from './types.js'
import {BGP_TIMERS} from '../../modes/bgp-peers.js'

export const bgpDown: FaultModule = {
  kind: 'bgp-down',
  text: 'BIRD goes quiet on a node (routing bgp): its peers withdraw its pods when the hold time runs out',
  sites({model}) {
    if (!model.bgp) return []
    // a node with pods: the probe sees its block go
    return model.nodes
      .filter((n) => n.pods.length > 0)
      .map((n) => ({
        netns: n.netns,
        tool: 'bird',
        args: ['stop', n.name],
        undo: [{tool: 'bird', netns: n.netns, args: ['start', n.name]}],
        what: `froze BIRD on ${n.name} (SIGSTOP, as a node that goes quiet: its peers hear nothing more and drop its routes when the ${BGP_TIMERS.holdS} s hold time runs out)`,
      }))
  },
}
