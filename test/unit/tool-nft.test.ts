// The nft driver (src/tools/nft.ts) and the nftables mode's plan (src/proxy/nftables.ts): a
// namespace's nft actions go in as one `nft -f -` transaction, a failure is mapped back to the
// action whose line nft names (nothing else of the transaction applied), and confined() takes the
// statements netlab's nftables mode writes on table ip kube-proxy, and nothing else. Pure.
import {describe, expect, it} from 'vitest'
import {compilePlan} from '../../src/compile/plan.js'
import {driver} from '../../src/tools/index.js'
import {nftConfined} from '../../src/tools/nft.js'
import {undoProblems} from '../../src/plan/undo-check.js'
import type {Action} from '../../src/core/actions.js'
import {model} from '../helpers/model.js'

const NFT_LAB = `
name: lab
cluster: {proxy: nftables, serviceCIDR: 10.96.0.0/16}
nodes:
  - name: node-0
    pods:
      - {name: web-0, labels: {app: web}, ports: [{name: http, port: 8080}]}
      - {name: api-0, labels: {app: api}, ports: [{port: 8443}]}
  - name: node-1
    pods:
      - {name: web-1, labels: {app: web}, ports: [{name: http, port: 8080}]}
services:
  - name: web
    selector: {app: web}
    sessionAffinity: ClientIP
    ports: [{name: http, port: 80, targetPort: http}]
  - name: api
    type: NodePort
    externalTrafficPolicy: Local
    selector: {app: api}
    ports: [{port: 443, targetPort: 8443, protocol: TCP}]
  - name: nobody
    type: NodePort
    selector: {app: none}
    ports: [{port: 81}]
`

const d = driver('nft')
const nftActions = (lab = NFT_LAB) => compilePlan(model(lab)).actions.filter((a) => a.tool === 'nft')

describe('the nftables mode in the plan', () => {
  const actions = nftActions()
  const node0 = actions.filter((a) => a.netns === 'netlab-lab.node-0')

  it("writes each node's table as its frame's parts and one action per Service, all `nft -f -`, undone by the namespace", () => {
    expect(node0.length).toBe(6 + 3)
    expect(actions.length).toBe(2 * node0.length)
    for (const a of actions) {
      expect(a.args).toEqual(['-f', '-'])
      expect(a.undo).toEqual({kind: 'netns', netns: a.netns})
      expect(a.why.length).toBeGreaterThan(80)
    }
    expect(node0[0].stdin).toMatch(/^add table ip kube-proxy /)
  })

  it('explains each Service by what its chains do on that node', () => {
    const api = (ns: string) => actions.find((a) => a.netns === ns && a.why.startsWith('Service default/api'))!.why
    expect(api('netlab-lab.node-0')).toMatch(/this node's endpoints \(1; via local-/)
    expect(api('netlab-lab.node-1')).toMatch(/none here: dropped/)
    expect(actions.find((a) => a.why.startsWith('Service default/web'))!.why).toMatch(/affinity set/)
    expect(actions.find((a) => a.why.startsWith('Service default/nobody'))!.why).toMatch(/no endpoints.*rejected at once/)
  })

  it('confines every input it writes', () => {
    for (const a of actions) expect(d.confined!(a), a.why).toBeUndefined()
    const trust = {lab: 'lab', labDir: '/run/x/lab'}
    const steps = actions.map((a) => ({
      ...a,
      undo: {kind: 'commands' as const, commands: [{tool: a.tool, netns: a.netns, args: a.args, stdin: a.stdin}]},
    }))
    expect(undoProblems(steps, trust)).toEqual([])
  })

  it("takes netlab apply's rewrite of the table: made and deleted first, so it need not exist", () => {
    expect(nftConfined('add table ip kube-proxy\ndelete table ip kube-proxy\nadd chain ip kube-proxy services\n')).toBeUndefined()
  })
})

describe('nft input netlab does not write is refused', () => {
  const ok = 'add chain ip kube-proxy services'
  it.each([
    ['include "/etc/passwd"', /line 1 /],
    ['define X = /tmp/x', /line 1 /],
    ['add rule ip kube-proxy services jump $X', /line 1 /],
    ['add table inet filter', /line 1 /],
    ['add chain ip filter services', /line 1 /],
    ['add rule ip kube-proxy services log prefix "x"', /line 1 /],
    ['add rule ip kube-proxy services queue num 1', /line 1 /],
    ['add rule ip kube-proxy services dup to 10.0.0.1', /line 1 /],
    ['add rule ip kube-proxy services ct helper set "ftp"', /line 1 /],
    ['add chain ip kube-proxy services ; include "/etc/x"', /line 1 /],
    ['add rule ip kube-proxy services jump x comment "a"; include "b"', /line 1 /],
    [`${ok}\nflush ruleset`, /line 2 /],
    ['delete table ip filter', /line 1 /],
    ['delete table inet kube-proxy', /line 1 /],
    ['flush chain ip kube-proxy services', /line 1 /],
    [`${ok}\n  include "x"`, /line 2 /],
  ])('%s', (text, problem) => {
    expect(nftConfined(text)).toMatch(problem)
  })

  it('and a file or an option instead of -f -', () => {
    const c = {tool: 'nft', netns: 'netlab-lab.node-0', args: ['-f', '/etc/nftables.conf'], stdin: ''}
    expect(d.confined!(c)).toMatch(/takes only -f -/)
    expect(d.confined!({...c, args: ['-I', '/tmp', '-f', '-']})).toMatch(/takes only -f -/)
    expect(d.confined!({...c, args: ['-f', '-'], stdin: `${ok}\n`})).toBeUndefined()
  })
})

describe('one transaction per namespace', () => {
  const actions = nftActions().filter((a) => a.netns === 'netlab-lab.node-0')
  const lineOf = (k: number) => actions.slice(0, k).reduce((n, a) => n + a.stdin!.split('\n').length - 1, 0) + 1

  it("is one `nft -f -` of every action's statements, in order", () => {
    const p = d.prepare(actions, 'netlab-lab.node-0', {fault: -1, netlink: true})
    expect(p.steps).toEqual([{kind: 'exec', argv: ['nft', '-f', '-'], stdin: actions.map((a) => a.stdin).join('')}])
  })

  it('maps the line nft names to its action; nothing else of the transaction was applied', () => {
    const p = d.prepare(actions, 'netlab-lab.node-0', {fault: -1, netlink: true})
    for (const k of [0, 3, actions.length - 1]) {
      const line = lineOf(k) + 1
      const out = d.interpret(p, {
        step: 0,
        exitCode: 1,
        stderr: `/dev/stdin:${line}:24-29: Error: Could not process rule: No such file or directory`,
      })
      expect(out.failed).toBe(actions[k])
      expect(out.applied).toEqual([])
      expect(out.notRun).toEqual(actions.filter((a: Action) => a !== actions[k]))
      expect(out.error!.command).toMatch(/^ip netns exec netlab-lab\.node-0 nft -f - <</)
    }
  })

  it('a fault replaces its action with a statement that really fails, named by its line', () => {
    const p = d.prepare(actions, 'netlab-lab.node-0', {fault: 2, netlink: true})
    const text = (p.steps[0] as {stdin: string}).stdin
    expect(text.split('\n')[lineOf(2) - 1]).toBe('add rule ip kube-proxy netlab-injected-fault ip daddr 1.2.3.4/40 accept')
    const out = d.interpret(p, {step: 0, exitCode: 1, stderr: `/dev/stdin:${lineOf(2)}:24-44: Error: Could not process rule`})
    expect(out.failed).toBe(actions[2])
    expect(out.error!.command).toMatch(/fault injected/)
  })

  it('an error without a line: nothing applied, no action blamed', () => {
    const p = d.prepare(actions, 'netlab-lab.node-0', {fault: -1, netlink: true})
    const out = d.interpret(p, {step: 0, exitCode: 1, stderr: 'netlink: Error: cache initialization failed'})
    expect([out.failed, out.applied, out.notRun.length]).toEqual([undefined, [], actions.length])
  })
})
