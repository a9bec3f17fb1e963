// The services phase: kube-proxy on every node. What a node needs for a ClusterIP to be routed at
// all (a lab node has no default route, unlike a real one), then the proxy mode's rules, in the
// node's own namespace. Pure.
import type {PlanContext} from '../model/types.js'
import {proxyMode} from '../proxy/index.js'

export function servicesPhase(ctx: PlanContext): void {
  const {model, b} = ctx
  const services = model.services
  if (!services) return
  const proxy = proxyMode(services.proxy)
  b.phase({
    id: 'services',
    title: 'Services: kube-proxy on every node',
    why:
      'A Service is an address no interface holds (its ClusterIP) and a set of pods behind it (its ' +
      "endpoints). kube-proxy runs on every node and turns a connection to the ClusterIP into one to an endpoint, in the node's own " +
      'netfilter rules (DNAT): the one place where Kubernetes translates addresses on purpose. ' +
      `Here: ${proxy.summary}.`,
    scope: 'netns',
  })
  for (const n of model.nodes) {
    b.inNetns(
      n.netns,
      'ip',
      ['route', 'add', services.serviceCIDR, 'dev', 'eth0'],
      `a route for the service range ${services.serviceCIDR}: a real node's default route would carry it; ` +
        `without one the node's own connections to a ClusterIP fail before kube-proxy's rules see them`,
    )
    proxy.build(ctx, n)
  }
}
