// The compiled plan of the default lab: order, namespaces, routes, masquerade, and its renderings.
import {describe, expect, it} from 'vitest'
import {loadTopologyFile, parseTopology} from '../../src/topology/parse.js'
import {buildModel, modelWith} from '../../src/compile/model.js'
import {allNetns, type LabModel} from '../../src/model/types.js'
import {compilePlan, DYNAMIC_NEIGHBOUR_LIMIT} from '../../src/compile/plan.js'
import {neighbourEntries} from '../../src/modes/neighbours.js'
import {macFor} from '../../src/core/names.js'
import {argv, commandLine} from '../../src/tools/command.js'
import {shellQuote} from '../../src/core/shell.js'
import {renderJson, renderPlan, renderShell, renderTeardown, renderText} from '../../src/plan/render.js'
import type {Action, Plan} from '../../src/core/actions.js'
import {THREE_NODE} from '../helpers/constants.js'

const model = buildModel(loadTopologyFile(THREE_NODE))
const plan = compilePlan(model)

function withMasq(m: LabModel, ipMasq: boolean): Plan {
  return compilePlan(modelWith(m, {ipMasq}))
}

const created = (p: Plan) => p.actions.filter((a) => a.creates).map((a) => a.creates!)
const masquerades = (p: Plan) => p.actions.filter((a) => a.args.includes('MASQUERADE'))

/** The value after `flag` in args, for every occurrence. */
function valuesAfter(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag && i + 1 < args.length ? [args[i + 1]] : []))
}

describe('three-node plan: phases', () => {
  it('come in tutorial order', () => {
    expect(plan.phases.map((p) => p.id)).toEqual([
      'namespaces',
      'ipv4-only',
      'links',
      'pod-links',
      'fabric',
      'nodes',
      'pods',
      'external',
      'routes',
      'forwarding',
      'firewall',
    ])
  })

  it('group the actions: every action belongs to a phase, and phases do not interleave', () => {
    const ids = plan.phases.map((p) => p.id)
    const order = plan.actions.map((a) => ids.indexOf(a.phase))
    expect(order).not.toContain(-1)
    expect(order).toEqual([...order].sort((x, y) => x - y))
    for (const id of ids)
      expect(
        plan.actions.some((a) => a.phase === id),
        id,
      ).toBe(true)
  })

  it('number the actions from 0', () => {
    expect(plan.actions.map((a) => a.id)).toEqual(plan.actions.map((_, i) => i))
  })

  it('has no external phase when there is no external host', () => {
    const t = parseTopology('name: lab\nnodes:\n  - name: a\n  - name: b\n', 't.yaml')
    expect(compilePlan(buildModel(t)).phases.map((p) => p.id)).not.toContain('external')
  })
})

describe('three-node plan: namespaces', () => {
  it('creates every namespace of the model exactly once', () => {
    const made = created(plan)
    expect(new Set(made).size).toBe(made.length)
    expect([...made].sort()).toEqual([...allNetns(model)].sort())
    for (const a of plan.actions.filter((x) => x.creates)) {
      expect(a).toMatchObject({netns: null, tool: 'ip', args: ['netns', 'add', a.creates]})
      expect(a.undo).toEqual({kind: 'commands', commands: [{tool: 'ip', netns: null, args: ['netns', 'del', a.creates]}]})
    }
  })

  it('creates each namespace before any action runs in it, names it, or is undone by deleting it', () => {
    const createdAt = new Map(plan.actions.filter((a) => a.creates).map((a) => [a.creates!, a.id]))
    for (const a of plan.actions) {
      if (a.creates) continue
      const used = [a.netns, ...valuesAfter(a.args, 'netns'), a.undo.kind === 'netns' ? a.undo.netns : null].filter(
        (x): x is string => x !== null,
      )
      expect(used.length, commandLine(a)).toBeGreaterThan(0)
      for (const ns of used) {
        expect(createdAt.has(ns), `${commandLine(a)}: ${ns} is not created by the plan`).toBe(true)
        expect(createdAt.get(ns)!, commandLine(a)).toBeLessThan(a.id)
      }
    }
  })

  it('runs every namespaced action in a namespace the plan creates', () => {
    const made = new Set(created(plan))
    const inside = plan.actions.filter((a) => a.netns !== null)
    expect(inside.length).toBeGreaterThan(0)
    for (const a of inside) expect(made.has(a.netns!), commandLine(a)).toBe(true)
  })

  it('runs nothing in the root namespace but `ip netns add` and `ip link add` that put every end in a lab namespace', () => {
    const made = new Set(created(plan))
    const root = plan.actions.filter((a) => a.netns === null)
    for (const a of root) {
      expect(a.tool, commandLine(a)).toBe('ip')
      if (a.creates) {
        expect(a.args).toEqual(['netns', 'add', a.creates])
        continue
      }
      expect(a.args.slice(0, 2), commandLine(a)).toEqual(['link', 'add'])
      // "link add name X netns NS ... [peer name Y netns NS2]": each end is created inside a lab namespace
      const ends = a.args
        .slice(2)
        .join(' ')
        .split(' peer ')
        .map((s) => s.split(' '))
      for (const end of ends) {
        expect(end, commandLine(a)).toContain('name')
        const ns = valuesAfter(end, 'netns')
        expect(ns, commandLine(a)).toHaveLength(1)
        expect(made.has(ns[0]), commandLine(a)).toBe(true)
      }
      expect(ends.length).toBe(a.args.includes('veth') ? 2 : 1)
    }
    expect(root.filter((a) => !a.creates).length).toBe(1 + 3 * 2 + 1 + 5) // fabric bridge, eth0+cni0 per node, external, pods
  })
})

describe('three-node plan: host-gw routes', () => {
  const routes = plan.actions.filter((a) => a.phase === 'routes' && a.args[0] === 'route' && a.args[1] === 'add')

  it('gives each node exactly one route per other node’s pod subnet, via that node’s underlay address', () => {
    for (const node of model.nodes) {
      const mine = routes.filter((a) => a.netns === node.netns)
      for (const peer of model.nodes) {
        const toPeer = mine.filter((a) => a.args[2] === peer.podCIDR)
        if (peer === node) {
          expect(toPeer, `${node.name} must not route its own subnet`).toHaveLength(0)
          continue
        }
        expect(toPeer, `${node.name} -> ${peer.name}`).toHaveLength(1)
        expect(toPeer[0].args).toEqual(['route', 'add', peer.podCIDR, 'via', peer.ip, 'dev', 'eth0'])
      }
    }
  })

  it('adds no other pod-range route anywhere', () => {
    const podRoutes = plan.actions.filter((a) => a.args[0] === 'route' && a.args[2]?.startsWith('10.244.'))
    expect(podRoutes).toHaveLength(3 * 2)
  })

  it('gives each pod a default route via its node’s gateway', () => {
    for (const n of model.nodes) {
      for (const p of n.pods) {
        const acts = plan.actions.filter((a) => a.netns === p.netns)
        expect(acts.map((a) => a.args)).toContainEqual(['route', 'add', 'default', 'via', n.gateway, 'dev', 'eth0'])
        expect(acts.map((a) => a.args)).toContainEqual(['addr', 'add', `${p.ip}/24`, 'dev', 'eth0'])
      }
    }
  })

  it('turns forwarding on in every node', () => {
    const fwd = plan.actions.filter((a) => a.tool === 'sysctl' && a.args[0].startsWith('net.ipv4.ip_forward'))
    expect(fwd.map((a) => a.netns).sort()).toEqual(model.nodes.map((n) => n.netns).sort())
    for (const a of fwd) expect(a.args).toEqual(['net.ipv4.ip_forward=1'])
  })
})

describe('IPv4-only namespaces and static neighbours', () => {
  it('turns IPv6 off in every namespace, before any interface is created', () => {
    const off = plan.actions.filter((a) => a.tool === 'sysctl' && a.args[0] === 'net.ipv6.conf.default.disable_ipv6=1')
    expect(off.map((a) => a.netns).sort()).toEqual(allNetns(model).sort())
    const firstLink = plan.actions.findIndex((a) => a.args[0] === 'link' && a.args[1] === 'add')
    for (const a of off) expect(a.id).toBeLessThan(firstLink)
  })

  it('gives every addressed interface the MAC 0a:58:<address>', () => {
    expect(macFor('10.244.0.2')).toBe('0a:58:0a:f4:00:02')
    const podLink = plan.actions.find((a) => a.args[0] === 'link' && a.args.includes(model.nodes[0].pods[0].netns))!
    expect(podLink.args).toContain('0a:58:0a:f4:00:02')
  })

  it('leaves ARP to do its work in a small lab', () => {
    expect(neighbourEntries(model)).toBeLessThan(DYNAMIC_NEIGHBOUR_LIMIT)
    expect(plan.actions.some((a) => a.args[0] === 'neigh')).toBe(false)
  })

  it('writes permanent neighbour entries, all consistent with the MACs, when a lab would overflow the kernel table', () => {
    const big = parseTopology(
      `name: big\nnodes:\n${Array.from({length: 20}, (_, i) => `  - {name: n${i}, pods: 10}`).join('\n')}\n`,
      'big.yaml',
    )
    const m = buildModel(big)
    const p = compilePlan(m)
    expect(neighbourEntries(m)).toBeGreaterThan(DYNAMIC_NEIGHBOUR_LIMIT)
    const neigh = p.actions.filter((a) => a.args[0] === 'neigh')
    // nodes: 19 peers + 10 pods each; pods: their gateway only (routed pods, not pods² per node)
    expect(neigh).toHaveLength(20 * (19 + 10) + 200)
    for (const n of m.nodes)
      for (const pod of n.pods) {
        const mine = p.actions.filter((a) => a.netns === pod.netns).map((a) => a.args.join(' '))
        expect(mine).toContain(`addr add ${pod.ip}/${m.nodeSubnetSize} dev eth0 noprefixroute`)
        expect(mine).toContain(`route add default via ${n.gateway} dev eth0 onlink`)
      }
    for (const a of neigh) {
      const ip = a.args[2]
      expect(a.args[4]).toBe(macFor(ip))
      expect(a.args.slice(-2)).toEqual(['nud', 'permanent'])
    }
    const phases = p.phases.map((x) => x.id)
    expect(phases.indexOf('neighbours')).toBeGreaterThan(phases.indexOf('pods'))
  })
})

describe('three-node plan: masquerade', () => {
  it('masquerades each node’s pods only towards outside the cluster pod range', () => {
    const masq = masquerades(plan)
    expect(masq).toHaveLength(model.nodes.length)
    for (const n of model.nodes) {
      const mine = masq.filter((a) => a.netns === n.netns)
      expect(mine).toHaveLength(1)
      expect(mine[0].tool).toBe('iptables')
      expect(mine[0].args).toEqual(['-t', 'nat', '-A', 'POSTROUTING', '-s', n.podCIDR, '!', '-d', model.podCIDR, '-j', 'MASQUERADE'])
    }
  })

  it('has no rule that could masquerade pod-to-pod traffic', () => {
    for (const a of plan.actions.filter((x) => x.args.includes('MASQUERADE') || x.args.includes('SNAT'))) {
      const d = a.args.indexOf('-d')
      expect(d, commandLine(a)).toBeGreaterThan(0)
      expect(a.args[d - 1], commandLine(a)).toBe('!')
      expect(a.args[d + 1], commandLine(a)).toBe(model.podCIDR)
    }
  })

  it('has no MASQUERADE at all with ipMasq false, and otherwise the same plan', () => {
    const off = withMasq(model, false)
    expect(masquerades(off)).toHaveLength(0)
    expect(off.actions.some((a) => a.args.some((x) => /MASQ|SNAT|POSTROUTING/.test(x)))).toBe(false)
    expect(off.actions.map(commandLine)).toEqual(plan.actions.filter((a) => !a.args.includes('MASQUERADE')).map(commandLine))
    expect(masquerades(withMasq(model, true))).toHaveLength(model.nodes.length)
  })

  it('accepts forwarding for the pod range only, after a default DROP', () => {
    for (const n of model.nodes) {
      const fw = plan.actions.filter((a) => a.netns === n.netns && a.tool === 'iptables').map((a) => a.args.join(' '))
      expect(fw.indexOf('-P FORWARD DROP')).toBe(0)
      expect(fw).toContain(`-A FORWARD -s ${model.podCIDR} -j ACCEPT`)
      expect(fw).toContain(`-A FORWARD -d ${model.podCIDR} -j ACCEPT`)
    }
  })
})

describe('plan renderings', () => {
  it('sh: a bash script whose command lines are commandLine() of each action, in order', () => {
    const sh = renderPlan(plan, 'sh')
    expect(sh).toBe(renderShell(plan))
    const lines = sh.split('\n')
    expect(lines[0]).toBe('#!/usr/bin/env bash')
    expect(lines).toContain('set -euo pipefail')
    // the build: from the traps to their removal, every line is a comment, a created+= or an action
    const start = lines.indexOf(`trap 'echo "terminated" >&2; rollback; exit 143' TERM`)
    const end = lines.indexOf('trap - ERR INT TERM')
    expect(start).toBeGreaterThan(0)
    expect(end).toBeGreaterThan(start)
    const commands = lines
      .slice(start + 1, end)
      .filter((l) => l.trim() !== '' && !l.startsWith('#') && !l.startsWith('created+=('))
      .map((l) => l.split('  # ')[0])
    expect(commands).toEqual(plan.actions.map(commandLine))
  })

  it('sh: remembers each namespace right before creating it (a Ctrl-C in between still deletes it), after checking none exists', () => {
    const lines = renderShell(plan).split('\n')
    const check = lines.indexOf('for ns in "${NAMESPACES[@]}"; do')
    for (const ns of created(plan)) {
      const i = lines.findIndex((l) => l.startsWith(`ip netns add ${ns} `))
      expect(i, ns).toBeGreaterThan(check)
      expect(lines[i - 1]).toBe(`created+=(${ns})`)
    }
    expect(check).toBeGreaterThan(0)
    expect(lines).toContain(`NAMESPACES=(${created(plan).join(' ')})`)
  })

  it('sh: rolls back on a failing command, INT and TERM (exit 1, 130, 143), and offers down (bash lab.sh down)', () => {
    const sh = renderShell(plan, {owner: 'netlab:three-node@/tmp/x y'})
    expect(sh).toContain(`trap 'echo "failed: $BASH_COMMAND" >&2; rollback; exit 1' ERR`)
    expect(sh).toContain(`trap 'echo "interrupted" >&2; rollback; exit 130' INT`)
    expect(sh).toContain(`trap 'echo "terminated" >&2; rollback; exit 143' TERM`)
    expect(sh).toContain(`  down) down; exit 0 ;;`)
    expect(sh).toContain(`MARK='netlab:three-node@/tmp/x y'`) // the owner mark, quoted for the shell
    expect(renderShell(plan)).toContain('MARK=netlab:three-node\n')
  })

  it("sh --teardown: the build script's own down(), run at once", () => {
    const owner = 'netlab:three-node'
    const sh = renderShell(plan, {owner}).split('\n')
    const td = renderTeardown(plan, {owner}).split('\n')
    const block = (lines: string[]) =>
      lines.slice(
        lines.findIndex((l) => l.startsWith('NAMESPACES=(')),
        lines.indexOf('}') + 1,
      )
    expect(block(td)).toEqual(block(sh))
    expect(block(td).length).toBeGreaterThan(10)
    expect(td.at(-2)).toBe('down')
    expect(td[0]).toBe('#!/usr/bin/env bash')
  })

  it('json: parses, with the same actions and their command lines', () => {
    const json = JSON.parse(renderPlan(plan, 'json')) as {lab: string; phases: unknown[]; actions: (Action & {command: string})[]}
    expect(renderJson(plan)).toBe(renderPlan(plan, 'json'))
    expect(json.lab).toBe('three-node')
    expect(json.phases).toHaveLength(plan.phases.length)
    expect(json.actions).toHaveLength(plan.actions.length)
    json.actions.forEach((a, i) => {
      expect(a.id).toBe(i)
      expect(a.args).toEqual(plan.actions[i].args)
      expect(a.command).toBe(commandLine(plan.actions[i]))
    })
  })

  it('text: lists every command once, under its phase title', () => {
    const text = renderPlan(plan, 'text')
    expect(text).toBe(renderText(plan))
    expect(text.split('\n')[0]).toBe(
      `Plan for lab "three-node": ${plan.actions.length} actions in ${plan.phases.length} phases. Nothing has been run.`,
    )
    const shown = text
      .split('\n')
      .filter((l) => l.startsWith('   $ '))
      .map((l) => l.slice(5))
    expect(shown).toEqual(plan.actions.map(commandLine))
    for (const p of plan.phases) expect(text).toContain(p.title)
  })
})

describe('command lines', () => {
  it('run ip in a namespace with -n, and sysctl and iptables through ip netns exec', () => {
    expect(argv({tool: 'ip', netns: 'ns', args: ['link', 'set', 'lo', 'up']})).toEqual(['ip', '-n', 'ns', 'link', 'set', 'lo', 'up'])
    expect(argv({tool: 'ip', netns: null, args: ['netns', 'add', 'ns']})).toEqual(['ip', 'netns', 'add', 'ns'])
    expect(argv({tool: 'sysctl', netns: 'ns', args: ['net.ipv4.ip_forward=1']})).toEqual([
      'ip',
      'netns',
      'exec',
      'ns',
      'sysctl',
      '-w',
      'net.ipv4.ip_forward=1',
    ])
    expect(argv({tool: 'iptables', netns: 'ns', args: ['-P', 'FORWARD', 'DROP']})).toEqual([
      'ip',
      'netns',
      'exec',
      'ns',
      'iptables',
      '-P',
      'FORWARD',
      'DROP',
    ])
  })

  it('quote for sh only where needed', () => {
    expect(shellQuote('netlab-lab.node-0')).toBe('netlab-lab.node-0')
    expect(shellQuote('10.244.0.0/16')).toBe('10.244.0.0/16')
    expect(shellQuote('!')).toBe(`'!'`)
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`)
    expect(shellQuote('$(reboot)')).toBe(`'$(reboot)'`)
    expect(commandLine({tool: 'iptables', netns: 'n', args: ['!', '-d', '10.0.0.0/8']})).toBe(`ip netns exec n iptables '!' -d 10.0.0.0/8`)
  })
})
