// The success result of ADD in the shape of the config's cniVersion: 0.3.x/0.4.0 tag each IP
// with its version, 1.x does not. Pure.
import {formatIPv4} from '../../core/ipv4.js'
import type {NetConf} from './config.js'
import type {Allocation} from './ipam.js'

export interface Iface {
  name: string
  mac: string
  sandbox?: string
}

export interface Result {
  cniVersion: string
  interfaces: Iface[]
  ips: {version?: string; interface: number; address: string; gateway: string}[]
  routes?: {dst: string; gw?: string}[]
  dns: Record<string, never>
}

/** The routes the pod gets: the ipam block's (via the gateway unless they name one), then the default. */
export function podRoutes(conf: NetConf, gateway: number): {dst: string; gw: string}[] {
  return [
    ...conf.ipam.routes.map((r) => ({dst: r.dst.toString(), gw: formatIPv4(r.gw ?? gateway)})),
    ...(conf.isDefaultGateway ? [{dst: '0.0.0.0/0', gw: formatIPv4(gateway)}] : []),
  ]
}

/** interfaces: the bridge, the host end of the veth, the pod end (index 2, which every IP names) */
export function buildResult(conf: NetConf, ifaces: [Iface, Iface, Iface], ips: Allocation[]): Result {
  const tagged = !conf.cniVersion.startsWith('1.')
  const routes = ips.length > 0 ? podRoutes(conf, ips[0].gateway) : []
  return {
    cniVersion: conf.cniVersion,
    interfaces: ifaces,
    ips: ips.map((a) => ({
      ...(tagged ? {version: '4'} : {}),
      interface: 2,
      address: `${formatIPv4(a.ip)}/${a.prefix}`,
      gateway: formatIPv4(a.gateway),
    })),
    // no routes: no key, as the reference plugins write it
    ...(routes.length > 0 ? {routes} : {}),
    dns: {},
  }
}

/** The addresses a prevResult says the pod interface holds ("a.b.c.d/n"). */
export function prevAddresses(prev: Record<string, unknown>, ifname: string): string[] {
  const ifaces = Array.isArray(prev.interfaces) ? (prev.interfaces as Iface[]) : []
  const ips = Array.isArray(prev.ips) ? (prev.ips as {interface?: number; address?: string}[]) : []
  return ips.filter((ip) => ip.interface === undefined || ifaces[ip.interface]?.name === ifname).map((ip) => String(ip.address))
}
