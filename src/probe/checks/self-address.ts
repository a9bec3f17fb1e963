import type {LabModel} from '../../model/types.js'
import type {PeerView} from '../judge.js'
import type {ProbeResult, SelfObservation} from '../types.js'
import {judgeEachPod} from './observed.js'
import type {ProbeCheck} from './types.js'

/** Self-address of each pod: eth0 = model = the source it used = what peers saw. */
function judgeSelf(model: LabModel, self: Map<string, SelfObservation>, peerViews: Map<string, PeerView>): ProbeResult[] {
  return judgeEachPod(model, self, (pod, s) => {
    const v = peerViews.get(pod.name)
    const problems: string[] = []
    const eth0 = s.eth0 ?? []
    if (!s.eth0) problems.push(`eth0 unreadable${s.detail ? ` (${s.detail})` : ''}`)
    else if (eth0.length !== 1 || eth0[0] !== pod.ip)
      problems.push(`eth0 has ${eth0.join(', ') || 'no IPv4 address'}, status says ${pod.ip}`)
    const others = v ? [...v.seen.entries()].filter(([ip]) => ip !== pod.ip) : []
    if (others.length > 0) problems.push(`peers saw ${others.map(([ip, c]) => `${ip} (${c} of ${v!.count})`).join(', ')}`)
    const used = v ? [...v.used].filter((ip) => ip !== pod.ip) : []
    if (used.length > 0) problems.push(`it sent from ${used.join(', ')}`)
    const parts = [`eth0 ${eth0.join(', ') || '?'}`, `status ${pod.ip}`]
    if (v) parts.push(`peers saw ${[...v.seen.keys()].join(', ')}`)
    return {expected: pod.ip, seen: parts.join('; '), problems}
  })
}

export const selfAddress = {
  id: 'self-address',
  section: 'self-address',
  title: "each pod's eth0 address = the address netlab status reports = the address peers see",
  addresses: {
    judge: judgeSelf,
    line: (r) => (r.ok ? `✓ ${r.src.name}: ${r.seen}` : `✗ ${r.src.name}: expected ${r.expected} everywhere, but ${r.detail ?? r.seen}`),
  },
} satisfies ProbeCheck
