// What more than one test file needs: where things are, and the small labs the tests generate.
// Plain data and pure functions, no vitest hooks and no processes: unit tests import it too.
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {routingMode} from '../../src/modes/index.js'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BIN = join(ROOT, 'bin', 'run.js')
export const TOPOLOGIES = join(ROOT, 'topologies')
/** the default topology: 3 nodes, 5 pods, one external host */
export const THREE_NODE = join(TOPOLOGIES, 'three-node.yaml')

/**
 * The environment to start netlab (or a shell that starts it) with: this process's, without the
 * NODE_ENV=test that vitest sets, as a user's shell has it; then `extra`. Under NODE_ENV=test (or
 * development) oclif looks for the commands' TypeScript sources and loads typescript to read
 * tsconfig.json: 0.2-0.6 s more a start, in a mode no user runs.
 */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = {...process.env, ...extra}
  if (env.NODE_ENV === 'test') delete env.NODE_ENV
  return env
}

/** The cluster settings of every generated test lab (netlab's defaults, spelled out). */
export const CLUSTER = {podCIDR: '10.244.0.0/16', nodeSubnetSize: 24, underlay: '192.168.50.0/24', routing: 'host-gw', ipMasq: true}
/** the external host of generated test labs */
export const INTERNET = {name: 'internet', ip: '203.0.113.10'}

/** How long a test waits for something that happens in the background (a pause file, a process to go). */
export const WAIT_MS = 20_000

/** the VPC host of generated test labs that ask for one: a VM of the VPC that is not a node */
const VPC_HOST = {name: 'vpc-vm', vpc: true, ip: '192.168.50.200'}

/**
 * nodes n0, n1, … with `pods` pods each (named n0-p0, …), and the external host unless told not
 * to; `routing` (default host-gw) with only the cluster keys that apply to it (a mode whose pods
 * hold underlay addresses takes no podCIDR), and a VPC host if asked.
 */
export function smallTopology(
  name: string,
  opts: {nodes?: number; pods?: number; external?: boolean; ipMasq?: boolean; routing?: string; vpcHost?: boolean} = {},
): Record<string, unknown> {
  const nodes = Array.from({length: opts.nodes ?? 2}, (_, i) => ({name: `n${i}`, pods: opts.pods ?? 2}))
  const routing = opts.routing ?? CLUSTER.routing
  const {podCIDR, nodeSubnetSize, ...rest} = CLUSTER
  const cluster = {
    ...(routingMode(routing).podsInUnderlay ? rest : {podCIDR, nodeSubnetSize, ...rest}),
    routing,
    ipMasq: opts.ipMasq ?? CLUSTER.ipMasq,
  }
  const external = [...(opts.external === false ? [] : [{...INTERNET}]), ...(opts.vpcHost ? [{...VPC_HOST}] : [])]
  return {name, cluster, nodes, ...(external.length > 0 ? {external} : {})}
}
