// What a probe check is: one module per check in this folder, each exporting a ProbeCheck, listed
// once in the registry (index.ts), whose order is the report's. Everything the probe does with a
// check (plan its probes, say why it does not apply, explain it in the report) asks its module.
import type {Endpoint, ExternalModel, LabModel, NodeModel, PodModel} from '../../model/types.js'
import type {PeerView} from '../judge.js'
import type {CheckId, Coverage, Expectation, Probe, ProbeResult, Section, ServeTarget, SelfObservation} from '../types.js'

export interface ProbeCheck {
  /** its name in the report's JSON and in --json's results (a member of CheckId, ../types.ts) */
  readonly id: CheckId
  /** the report section it is listed under, and what --only picks it by */
  readonly section: Section
  /** its line in the report */
  readonly title: string
  /**
   * The probes it plans: the list it walks (pairs of endpoints, mostly) and, for each item, its
   * probes (the tool, the ends, a port): what each must see comes from the model and the
   * policies, not from the check. No plan: it plans no probes (its results come from `addresses`).
   */
  readonly plan?: CheckPlan
  /**
   * Why it does not apply to this lab (its mode, or nothing to probe it with), or undefined when
   * it does. The report then says so instead of counting; the plan must plan nothing there.
   */
  notApplicable?(model: LabModel): string | undefined
  /** false: this lab's report leaves the check out altogether, not even "not applicable" (default true) */
  inReport?(model: LabModel): boolean
  /** the line under its title: what is expected and why, when it is not obvious (undefined: none) */
  note?(ctx: NoteContext): string | undefined
  /** a check judged pod by pod from the addresses read in each pod, not from probes */
  readonly addresses?: AddressJudge
  /** its title when its probes went by UDP (ProbePlanContext.echo; --udp) */
  readonly udpTitle?: string
  /** HTTP echo checks: a source's line in the report ends with the addresses its targets saw */
  readonly showsSeen?: boolean
  /** its probes go to the ports the policies name: a target is shown with its service, and flows no policy isolates are counted, not named */
  readonly perService?: boolean
  /**
   * a check judged over several tries rather than try by try (a Service's spread, affinity,
   * hairpin): each probe is judged as usual, and these results, one per group of tries, are the
   * check's count
   */
  across?(model: LabModel, tries: readonly ProbeResult[]): ProbeResult[]
}

/**
 * Adds one probe of the check: what it must see comes from the model (expect.ts) and the policies
 * (policy.ts); a Service's probe brings its own (`service`: src/probe/services.ts works it out
 * from the model) and the echo sockets its endpoints need.
 */
export type AddProbe = (tool: Probe['tool'], src: Endpoint, dst: Endpoint, port?: number, service?: ServiceProbe) => void

/** What a Service's probe must see, and the echo sockets its endpoints need for it. */
interface ServiceProbe {
  expect: Expectation
  serves: readonly ServeTarget[]
}

/** What planning sees: the lab, the coverage, and one endpoint object per pod, node and host (shared by its probes). */
export interface ProbePlanContext {
  readonly model: LabModel
  readonly coverage: Coverage
  /**
   * How the no-NAT checks ask for the address the receiver saw: a TCP connection and an HTTP
   * request ('http', the proof), or one UDP datagram each way ('udp', --udp: faster, and weaker:
   * no handshake, so it does not show that a connection can be made)
   */
  readonly echo: 'http' | 'udp'
  pod(p: PodModel): Endpoint
  node(n: NodeModel): Endpoint
  external(e: ExternalModel): Endpoint
  /** a walk's list, made once per run whichever check asks first */
  items<T>(walk: Walk<T>): readonly T[]
}

/**
 * A list that checks plan their probes over (walks.ts). Checks next to each other in the registry
 * that walk the same list are planned together, item by item, each check in registry order: the
 * probes of pod → pod on the same node and on other nodes come interleaved, pair by pair.
 */
export interface Walk<T> {
  list(ctx: ProbePlanContext): readonly T[]
}

export interface CheckPlan<T = unknown> {
  readonly over: Walk<T>
  /** the probes of one item: none, one or several */
  probe(item: T, add: AddProbe, ctx: ProbePlanContext): void
}

/** A check's plan: walk `over`, and call `probe` with each of its items. */
export function planOver<T>(over: Walk<T>, probe: (item: T, add: AddProbe, ctx: ProbePlanContext) => void): CheckPlan {
  const plan: CheckPlan<T> = {over, probe}
  return plan
}

/** What a note may look at. */
export interface NoteContext {
  readonly model: LabModel
  readonly coverage: Coverage
  /** every probe of the run */
  readonly probes: readonly Probe[]
  /** what another check of this run counted; undefined when it did not run */
  counts(id: CheckId): {passed: number; failed: number} | undefined
}

interface AddressJudge {
  /** a result per pod whose addresses were read (`self`); `peers`: what the peers of each pod saw of it (no-nat-pod-pod) */
  judge(model: LabModel, self: Map<string, SelfObservation>, peers: Map<string, PeerView>): ProbeResult[]
  /** a pod's line in the report: "✓ …" when it passed, its failure "✗ …" otherwise */
  line(r: ProbeResult): string
}
