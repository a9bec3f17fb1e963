// The pods' workload (src/lab/workload.ts), its pure parts: which sockets it serves, the lines it
// is given, how a socket it could not open is reported, and the probe leaving its ports to it.
// The process itself, on real namespaces: test/integration/workload.test.ts.
import {describe, expect, it} from 'vitest'
import {unboundReason, workloadInput, workloadKey, workloadPorts, workloadStatus} from '../../src/lab/workload.js'
import {echoServices} from '../../src/probe/engine.js'
import {renderStatus, type StatusReport} from '../../src/lab/status.js'
import type {Probe} from '../../src/probe/types.js'
import {model, smallModel} from '../helpers/model.js'

const LAB = `
name: lab
nodes:
  - name: node-0
    pods:
      - {name: web-0, ports: [{name: http, port: 8080}, {port: 9000, protocol: UDP}]}
      - {name: plain}
  - name: node-1
    pods:
      - {name: api-0, ports: [{port: 8443}]}
`

describe('the workload serves each port a pod declares', () => {
  const m = model(LAB)
  const ip = (pod: string) => m.nodes.flatMap((n) => n.pods).find((p) => p.name === pod)!.ip

  it('one socket per declared port, on the pod address, in its namespace', () => {
    expect(workloadPorts(m)).toEqual([
      {pod: 'web-0', netns: 'netlab-lab.web-0', ip: ip('web-0'), proto: 'tcp', port: 8080},
      {pod: 'web-0', netns: 'netlab-lab.web-0', ip: ip('web-0'), proto: 'udp', port: 9000},
      {pod: 'api-0', netns: 'netlab-lab.api-0', ip: ip('api-0'), proto: 'tcp', port: 8443},
    ])
  })

  it('a lab whose pods declare no port has no workload', () => {
    const plain = smallModel('lab')
    expect(workloadPorts(plain)).toEqual([])
    expect(workloadStatus(plain)).toBeUndefined()
  })

  it('its input: a tab-separated serve line per socket (docs/runner-protocol.md)', () => {
    expect(workloadInput(workloadPorts(m)).split('\n')).toEqual([
      `serve\tnetlab-lab.web-0\tweb-0\t${ip('web-0')}\ttcp\t8080`,
      `serve\tnetlab-lab.web-0\tweb-0\t${ip('web-0')}\tudp\t9000`,
      `serve\tnetlab-lab.api-0\tapi-0\t${ip('api-0')}\ttcp\t8443`,
      '',
    ])
  })

  it('a socket it could not open is the reason up fails, naming the pod', () => {
    const line = `unbound\tnetlab-lab.api-0\t${ip('api-0')}:tcp/8443\tAddress already in use`
    expect(unboundReason(line, workloadPorts(m))).toBe(
      `the workload cannot serve TCP port 8443 in pod api-0 (${ip('api-0')}): Address already in use`,
    )
    expect(unboundReason('ready', workloadPorts(m))).toBeUndefined()
  })

  it('status lists the ports of each pod that declares some (the process is not running here)', () => {
    expect(workloadStatus(m)).toEqual({
      running: false,
      pods: [
        {
          pod: 'web-0',
          ports: [
            {port: 8080, protocol: 'TCP', name: 'http'},
            {port: 9000, protocol: 'UDP'},
          ],
        },
        {pod: 'api-0', ports: [{port: 8443, protocol: 'TCP'}]},
      ],
    })
  })
})

describe("status's workload line", () => {
  const report = (workload: StatusReport['workload']): StatusReport => ({
    lab: 'lab',
    state: 'up',
    routing: 'host-gw',
    podCIDR: '10.244.0.0/16',
    underlay: '192.168.50.0/24',
    ipMasq: true,
    segments: [{index: 0, cidr: '192.168.50.0/24'}],
    nodes: [],
    podAddresses: 'pod-range',
    external: [],
    routers: [],
    members: [],
    missing: [],
    workload,
  })
  const line = (r: StatusReport) =>
    renderStatus(r)
      .split('\n')
      .find((l) => l.startsWith('workload:'))

  it('names each pod and its ports, and whether the process runs', () => {
    const m = model(LAB)
    expect(line(report({...workloadStatus(m)!, running: true, pid: 4242}))).toBe(
      'workload: running (pid 4242): web-0 8080/TCP (http), 9000/UDP; api-0 8443/TCP',
    )
    expect(line(report(workloadStatus(m)))).toBe('workload: NOT running: web-0 8080/TCP (http), 9000/UDP; api-0 8443/TCP')
    expect(line(report(undefined))).toBeUndefined()
  })

  it('counts them in a large lab (--json lists them all)', () => {
    const pods = Array.from({length: 7}, (_, i) => ({pod: `p${i}`, ports: [{port: 8080, protocol: 'TCP' as const}]}))
    expect(line(report({running: true, pid: 7, pods}))).toBe('workload: running (pid 7): 7 ports in 7 pods (status --json lists them)')
  })
})

describe("the probe leaves the workload's ports to it", () => {
  const target = {kind: 'pod', name: 'web-0', netns: 'netlab-lab.web-0', ip: '10.244.0.2'} as const
  const source = {kind: 'pod', name: 'api-0', netns: 'netlab-lab.api-0', ip: '10.244.1.2'} as const
  const probe = {id: 0, tool: 'http', src: source, dst: target, port: 8080, expect: {reply: true}} as unknown as Probe
  const extra = {tcp: [8080, 5432], udp: [9000, 53]}
  const served = (workload?: Set<string>) => [...echoServices([probe], 20001, extra, workload).values()].map((s) => `${s.proto}/${s.port}`)

  it('without a workload it serves its echo port and every port policies name', () => {
    expect(served()).toEqual(['tcp/20001', 'tcp/8080', 'tcp/5432', 'udp/9000', 'udp/53'])
  })

  it('a port the workload serves in that pod is not served again (two listeners would split the connections)', () => {
    const workload = new Set([workloadKey(target.netns, 'tcp', 8080), workloadKey(target.netns, 'udp', 9000)])
    expect(served(workload)).toEqual(['tcp/20001', 'tcp/5432', 'udp/53'])
    // the same port in another pod is that pod's business
    expect(served(new Set([workloadKey(source.netns, 'tcp', 8080)]))).toContain('tcp/8080')
  })
})
