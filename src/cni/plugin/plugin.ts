// What each CNI command does, given a checked environment and config. Effects: the ipam store,
// two `ip` batches, /proc for what the kernel already knows without a process.
import {accessSync, constants, existsSync, readFileSync, writeFileSync} from 'node:fs'
import {spawnSync} from 'node:child_process'
import {formatIPv4} from '../../core/ipv4.js'
import {LATEST, SUPPORTED_VERSIONS, type NetConf, versionAtLeast, versionOk} from './config.js'
import type {CallEnv} from './env.js'
import {CODE, CniError} from './errors.js'
import {allocate, collect, exhausted, held, release, type Allocation, type Owner} from './ipam.js'
import {BatchError, hostVethName, nodeAddBatch, podAddBatch, runBatch, tryIp, type LinkJson} from './links.js'
import {buildResult, podRoutes, prevAddresses, type Result} from './result.js'
import {DiskStore} from './store.js'

/** VERSION answers whatever stdin holds, even nothing: the config's version if we speak it. */
export function versionResult(stdin: string): Record<string, unknown> {
  let asked: unknown
  try {
    asked = (JSON.parse(stdin) as {cniVersion?: unknown}).cniVersion
  } catch {
    asked = undefined
  }
  const cniVersion = typeof asked === 'string' && versionOk(asked) ? asked : LATEST
  return {cniVersion, supportedVersions: SUPPORTED_VERSIONS}
}

/** Interfaces of the node's namespace: /proc/net/dev is per namespace, and costs no process. */
function nodeHasLink(name: string): boolean {
  return readFileSync('/proc/net/dev', 'utf8')
    .split('\n')
    .some((l) => l.trim().startsWith(`${name}:`))
}

/** A gateway bridge routes: the node's (namespace's) ip_forward, as the reference bridge sets it. */
function enableForwarding(): void {
  const path = '/proc/sys/net/ipv4/ip_forward'
  if (readFileSync(path, 'utf8').trim() !== '1') writeFileSync(path, '1')
}

/** ipMasq: one MASQUERADE rule per pod address for traffic leaving the pod's subnet. */
function masquerade(op: '-A' | '-D', conf: NetConf, owner: Owner, ips: number[]): boolean {
  const rules = ips.map(
    (ip) =>
      `${op} POSTROUTING -s ${formatIPv4(ip)}/32 ! -d ${subnetOf(conf, ip)} -m comment --comment "netlab-cni ${conf.name} ${owner.id}" -j MASQUERADE`,
  )
  const r = spawnSync('iptables-restore', ['-w', '--noflush'], {input: ['*nat', ...rules, 'COMMIT', ''].join('\n'), encoding: 'utf8'})
  if (op === '-A' && r.status !== 0)
    throw new CniError(CODE.internal, `ipMasq: iptables-restore failed: ${(r.stderr ?? r.error?.message ?? '').trim()}`)
  return r.status === 0
}

function subnetOf(conf: NetConf, ip: number): string {
  return (
    conf.ipam.rangeSets
      .flat()
      .find((r) => r.subnet.contains(ip))
      ?.subnet.toString() ?? `${formatIPv4(ip)}/32`
  )
}

function needNetns(env: CallEnv): void {
  if (!existsSync(env.netns)) throw new CniError(CODE.invalidEnv, `CNI_NETNS ${env.netns} does not exist`)
}

/** The node's batch; a bridge that a parallel ADD created after we looked is no error. */
function nodeBatch(conf: NetConf, veth: string, ips: Allocation[]): LinkJson[][] {
  const exists = nodeHasLink(conf.bridge)
  try {
    return runBatch(nodeAddBatch(conf, veth, ips, exists), undefined, {details: true})
  } catch (e) {
    if (exists || !(e instanceof BatchError) || e.line !== 1 || !/File exists/.test(e.message)) throw e
    return runBatch(nodeAddBatch(conf, veth, ips, true), undefined, {details: true})
  }
}

export function add(env: CallEnv, conf: NetConf): Result {
  needNetns(env)
  const store = new DiskStore(conf.ipam.dataDir, conf.name)
  const owner = {id: env.containerId, ifname: env.ifname}
  const ips = store.locked(() => allocate(store, conf.ipam.rangeSets, owner, conf.ipam.requested))
  const veth = hostVethName(env.containerId, env.ifname)
  let podMade = false
  try {
    const [[pod]] = runBatch(podAddBatch(conf, env.ifname, veth, ips, process.pid), env.netns).slice(-1)
    podMade = true
    if (conf.isGateway) enableForwarding()
    const [[br], [host]] = nodeBatch(conf, veth, ips)
    if (br.linkinfo?.info_kind !== 'bridge') throw new CniError(CODE.internal, `${conf.bridge} exists and is not a bridge`)
    if (conf.ipMasq)
      masquerade(
        '-A',
        conf,
        owner,
        ips.map((a) => a.ip),
      )
    return buildResult(
      conf,
      [
        {name: br.ifname, mac: br.address},
        {name: host.ifname, mac: host.address},
        {name: pod.ifname, mac: pod.address, sandbox: env.netns},
      ],
      ips,
    )
  } catch (e) {
    // undo: the pod's interface (not when creating it was what failed: it may be someone else's)
    if (podMade || (e instanceof BatchError && e.line > 1)) tryIp(['link', 'del', env.ifname], env.netns)
    store.locked(() => release(store, owner))
    throw e
  }
}

/** DEL: free the addresses, remove the interface; whatever is already gone is fine. */
export function del(env: CallEnv, conf: NetConf): void {
  const store = new DiskStore(conf.ipam.dataDir, conf.name)
  const owner = {id: env.containerId, ifname: env.ifname}
  const freed = store.locked(() => release(store, owner))
  if (env.netns && existsSync(env.netns)) tryIp(['link', 'del', env.ifname], env.netns)
  if (conf.ipMasq && freed.length > 0) masquerade('-D', conf, owner, freed)
}

/** CHECK: what ADD made (its prevResult) is still what the store and the kernel hold. */
export function check(env: CallEnv, conf: NetConf): void {
  if (!versionAtLeast(conf.cniVersion, '0.4.0'))
    throw new CniError(CODE.incompatibleVersion, `CHECK needs cniVersion 0.4.0 or later, config is ${conf.cniVersion}`)
  if (!conf.prevResult) throw new CniError(CODE.invalidConfig, 'CHECK needs the prevResult of ADD')
  needNetns(env)
  const store = new DiskStore(conf.ipam.dataDir, conf.name)
  const ips = held(store, conf.ipam.rangeSets, {id: env.containerId, ifname: env.ifname})
  if (ips.length === 0)
    throw new CniError(CODE.unknownContainer, `container ${env.containerId} holds no address on ${conf.name} for ${env.ifname}`)
  const want = ips.map((a) => `${formatIPv4(a.ip)}/${a.prefix}`)
  const prev = prevAddresses(conf.prevResult, env.ifname)
  if (want.join() !== prev.join()) throw fail(`prevResult has ${prev.join(',') || 'no address'}, the ipam store ${want.join(',')}`)

  const [[link], routes] = runBatch([`addr show dev ${env.ifname}`, 'route show'], env.netns)
  if (!link?.flags?.includes('UP')) throw fail(`${env.ifname} is not up`)
  const have = (link.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`)
  const lost = want.filter((w) => !have.includes(w))
  if (lost.length > 0) throw fail(`${env.ifname} lacks ${lost.join(',')}`)
  for (const r of podRoutes(conf, ips[0].gateway)) {
    const dst = r.dst === '0.0.0.0/0' ? 'default' : r.dst
    if (!routes.some((x) => (x.dst === dst || x.dst === r.dst.replace(/\/32$/, '')) && x.gateway === r.gw))
      throw fail(`no route to ${r.dst} via ${r.gw}`)
  }

  const veth = hostVethName(env.containerId, env.ifname)
  // addresses first: in one ip batch, an `addr show` after a `link show` prints no addresses
  const [[br], [host]] = runBatch([`addr show dev ${conf.bridge}`, `link show dev ${veth}`], undefined, {details: true})
  if (br?.linkinfo?.info_kind !== 'bridge') throw fail(`${conf.bridge} is not a bridge`)
  if (host?.master !== conf.bridge) throw fail(`${veth} is not a port of ${conf.bridge}`)
  if (conf.isGateway) {
    const gws = (br.addr_info ?? []).map((a) => a.local)
    const missing = ips.map((a) => formatIPv4(a.gateway)).filter((g) => !gws.includes(g))
    if (missing.length > 0) throw fail(`${conf.bridge} lacks the gateway address ${missing.join(',')}`)
  }
}

const fail = (msg: string) => new CniError(CODE.internal, `CHECK failed: ${msg}`)

const needs110 = (conf: NetConf, cmd: string) => {
  if (!versionAtLeast(conf.cniVersion, '1.1.0')) {
    throw new CniError(CODE.incompatibleVersion, `${cmd} needs cniVersion 1.1.0 or later, config is ${conf.cniVersion}`)
  }
}

/** STATUS: 50 when an ADD could not succeed, 51 when pods already added have lost their bridge. */
export function status(conf: NetConf): void {
  needs110(conf, 'STATUS')
  let store: DiskStore
  try {
    store = new DiskStore(conf.ipam.dataDir, conf.name)
    accessSync(store.dir, constants.W_OK)
  } catch (e) {
    throw new CniError(CODE.notAvailable, `the ipam store is not writable: ${(e as Error).message}`)
  }
  const full = exhausted(store, conf.ipam.rangeSets)
  if (full !== undefined) throw new CniError(CODE.notAvailable, `no free address left in range set ${full}`)
  if (store.entries().length > 0 && !nodeHasLink(conf.bridge)) {
    throw new CniError(CODE.limitedConnectivity, `bridge ${conf.bridge} is gone: the pods added to it are cut off`)
  }
}

/** GC: free every address whose attachment the runtime no longer knows. */
export function gc(conf: NetConf): void {
  needs110(conf, 'GC')
  if (!conf.validAttachments) throw new CniError(CODE.invalidConfig, 'GC needs "cni.dev/valid-attachments"')
  const valid = conf.validAttachments.map((a) => ({id: a.containerID, ifname: a.ifname}))
  const store = new DiskStore(conf.ipam.dataDir, conf.name)
  const stale = store.locked(() => collect(store, valid))
  if (conf.ipMasq) stale.forEach((e) => masquerade('-D', conf, e.owner, [e.ip]))
}
