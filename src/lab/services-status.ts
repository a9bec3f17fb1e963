// `netlab status`'s Services: kube-proxy's mode and the service range, then each Service with its
// ClusterIP, ports (port → target port, protocol, node port), type, externalTrafficPolicy,
// session affinity, and the endpoints behind each port (pod address:port, node). From the saved
// model: what the lab's kube-proxy rules were written for. Pure.
import {alignColumns} from '../core/columns.js'
import type {ServiceEndpoint, ServicesModel} from '../model/types.js'
import {proxyMode} from '../proxy/index.js'

export interface ServicesStatus {
  /** kube-proxy's mode (cluster.proxy) and what it is */
  proxy: string
  proxySummary: string
  serviceCIDR: string
  list: {
    name: string
    /** the Kubernetes namespace it lives in */
    namespace: string
    type: string
    clusterIP: string
    externalTrafficPolicy: string
    sessionAffinity: string
    affinityTimeout?: number
    ports: {
      name?: string
      port: number
      protocol: string
      targetPort: number | string
      nodePort?: number
      endpoints: ServiceEndpoint[]
    }[]
  }[]
}

export function servicesStatus(s: ServicesModel): ServicesStatus {
  return {
    proxy: s.proxy,
    proxySummary: proxyMode(s.proxy).summary,
    serviceCIDR: s.serviceCIDR,
    list: s.list.map((x) => ({
      name: x.name,
      namespace: x.namespace,
      type: x.type,
      clusterIP: x.clusterIP,
      externalTrafficPolicy: x.externalTrafficPolicy,
      sessionAffinity: x.sessionAffinity,
      ...(x.affinityTimeout !== undefined ? {affinityTimeout: x.affinityTimeout} : {}),
      ports: x.ports.map((p) => ({
        ...(p.name ? {name: p.name} : {}),
        port: p.port,
        protocol: p.protocol,
        targetPort: p.targetPort,
        ...(p.nodePort !== undefined ? {nodePort: p.nodePort} : {}),
        endpoints: p.endpoints.map((e) => ({pod: e.pod, node: e.node, ip: e.ip, port: e.port})),
      })),
    })),
  }
}

/** endpoints shown per port before the rest are counted */
const MAX_ENDPOINTS = 4

function endpointsText(endpoints: ServiceEndpoint[]): string {
  if (endpoints.length === 0) return 'none: connections are refused'
  const shown = endpoints.slice(0, MAX_ENDPOINTS).map((e) => `${e.pod} ${e.ip}:${e.port} (${e.node})`)
  return shown.join(', ') + (endpoints.length > MAX_ENDPOINTS ? `, … ${endpoints.length - MAX_ENDPOINTS} more` : '')
}

/** The Services as lines: a head line, then one row per Service port. */
export function renderServices(s: ServicesStatus): string[] {
  // the mode's summary names it ("kube-proxy's iptables mode: …", "no kube-proxy: …")
  const head = `services: ${s.proxySummary}; service range ${s.serviceCIDR}`
  if (s.list.length === 0) return [`${head}; none`]
  const rows = [['SERVICE', 'TYPE', 'CLUSTER-IP', 'PORT', 'ENDPOINTS']]
  for (const x of s.list) {
    // under the type, one row each: externalTrafficPolicy (what a node port does), ClientIP affinity
    const policies = [
      ...(x.type === 'NodePort' ? [`eTP ${x.externalTrafficPolicy}`] : []),
      ...(x.sessionAffinity === 'ClientIP' ? [`affinity ClientIP ${x.affinityTimeout ?? 10800}s`] : []),
    ]
    const n = Math.max(x.ports.length, policies.length + 1)
    for (let i = 0; i < n; i++) {
      const p = x.ports[i]
      const port = p
        ? `${p.name ? `${p.name} ` : ''}${p.port}/${p.protocol} → ${p.targetPort}` +
          (p.nodePort !== undefined ? `, node port ${p.nodePort}` : '')
        : ''
      const type = i === 0 ? x.type : (policies[i - 1] ?? '')
      const name = x.namespace === 'default' ? x.name : `${x.namespace}/${x.name}`
      rows.push([i === 0 ? name : '', type, i === 0 ? x.clusterIP : '', port, p ? endpointsText(p.endpoints) : ''])
    }
  }
  return [head, ...alignColumns(rows)]
}
