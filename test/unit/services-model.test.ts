// Services resolved to a lab (src/compile/services.ts): ClusterIPs and node ports allocated as
// documented, endpoints as the EndpointSlice controller makes them, named target ports per pod.
import {describe, expect, it} from 'vitest'
import type {TopologyWarning} from '../../src/topology/errors.js'
import {model, topologyError} from '../helpers/model.js'

const LAB = `
name: lab
cluster: {serviceCIDR: 10.96.0.0/16}
nodes:
  - name: node-0
    pods:
      - {name: web-0, labels: {app: web}, ports: [{name: http, port: 8080}, {port: 9000, protocol: UDP}]}
      - {name: web-1, labels: {app: web}, ports: [{name: http, port: 8081}]}
  - name: node-1
    pods:
      - {name: api-0, labels: {app: api}}
      - {name: other, labels: {app: other}}
services:
  - name: web
    selector: {app: web}
    ports: [{name: http, port: 80, targetPort: http}, {name: dns, port: 53, targetPort: 9000, protocol: UDP}]
  - name: api
    type: NodePort
    selector: {app: api}
    clusterIP: 10.96.0.10
    externalTrafficPolicy: Local
    sessionAffinity: ClientIP
    ports: [{port: 443, targetPort: 8443}]
  - name: fixed
    type: NodePort
    selector: {app: none}
    ports: [{name: a, port: 80, nodePort: 30000}, {name: b, port: 81}]
`

describe('services in the model', () => {
  const warnings: TopologyWarning[] = []
  const m = model(LAB, {warnings})
  const [web, api, fixed] = m.services!.list

  it('keeps a fixed ClusterIP and gives the rest the lowest free addresses from the tenth up', () => {
    expect(m.services!.serviceCIDR).toBe('10.96.0.0/16')
    expect(m.services!.proxy).toBe('iptables')
    expect(api.clusterIP).toBe('10.96.0.10')
    expect(web.clusterIP).toBe('10.96.0.11')
    expect(fixed.clusterIP).toBe('10.96.0.12')
  })

  it('resolves a named target port in each pod, and a number for every selected pod', () => {
    expect(web.ports[0].endpoints).toEqual([
      {pod: 'web-0', node: 'node-0', ip: m.nodes[0].pods[0].ip, port: 8080},
      {pod: 'web-1', node: 'node-0', ip: m.nodes[0].pods[1].ip, port: 8081},
    ])
    expect(web.ports[1].endpoints.map((e) => [e.pod, e.port])).toEqual([
      ['web-0', 9000],
      ['web-1', 9000],
    ])
    expect(api.ports[0].endpoints.map((e) => [e.pod, e.port])).toEqual([['api-0', 8443]])
  })

  it('allocates node ports from 30000 up around the fixed ones, in topology order, and keeps the Kubernetes defaults', () => {
    expect(api.ports[0].nodePort).toBe(30001)
    expect(fixed.ports.map((p) => p.nodePort)).toEqual([30000, 30002])
    expect(web.ports[0].nodePort).toBeUndefined()
    expect(api).toMatchObject({externalTrafficPolicy: 'Local', sessionAffinity: 'ClientIP', affinityTimeout: 10800, namespace: 'default'})
    expect(web).toMatchObject({externalTrafficPolicy: 'Cluster', sessionAffinity: 'None'})
    expect(web.affinityTimeout).toBeUndefined()
  })

  it('warns about a selector that matches no pod', () => {
    expect(fixed.ports.every((p) => p.endpoints.length === 0)).toBe(true)
    expect(warnings.map((w) => w.detail)).toEqual([expect.stringMatching(/service fixed: its selector matches no pod/)])
  })

  it('gives pods their ports, and a lab without services: no services model', () => {
    expect(m.nodes[0].pods[0].ports).toEqual([
      {name: 'http', port: 8080, protocol: 'TCP'},
      {port: 9000, protocol: 'UDP'},
    ])
    expect(m.nodes[1].pods[0].ports).toBeUndefined()
    expect(model('name: lab\nnodes: [{name: node-0, pods: 1}]\n').services).toBeUndefined()
  })

  it('warns when no selected pod serves a named target port', () => {
    const w: TopologyWarning[] = []
    model(LAB.replace('targetPort: http}', 'targetPort: https}'), {
      warnings: w,
    })
    expect(w.map((x) => x.detail)).toContainEqual(expect.stringMatching(/no pod it selects serves a TCP port named "https"/))
  })

  it('refuses two Services with one ClusterIP', () => {
    const e = topologyError(() =>
      model(
        LAB.replace(
          '    type: NodePort\n    selector: {app: none}',
          '    type: NodePort\n    clusterIP: 10.96.0.10\n    selector: {app: none}',
        ),
      ),
    )
    expect(e.detail).toMatch(/clusterIP 10.96.0.10 is service api's too/)
  })
})
