// The registry of probe checks (src/probe/checks/index.ts): one module per check, named by its id,
// each listed once; every section has a check; the report lists the checks in registry order.
// That the registry holds every CheckId, each under its own id, the compiler checks (its type is
// a record over CheckId); this checks the files behind it.
import {readdirSync, readFileSync} from 'node:fs'
import {basename, join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {parse, stringify} from 'yaml'
import {buildModel} from '../../src/compile/model.js'
import {CHECKS, checkOf} from '../../src/probe/checks/index.js'
import type {ProbeCheck} from '../../src/probe/checks/types.js'
import {coverageFor, sectionsFor, selectProbes} from '../../src/probe/select.js'
import {Tally} from '../../src/probe/tally.js'
import {SECTIONS} from '../../src/probe/types.js'
import {loadTopologyFile, parseTopology} from '../../src/topology/parse.js'
import {ROOT, TOPOLOGIES} from '../helpers/constants.js'

const DIR = join(ROOT, 'src/probe/checks')
const isCheck = (x: unknown): x is ProbeCheck =>
  typeof x === 'object' && x !== null && ['id', 'section', 'title'].every((k) => typeof (x as Record<string, unknown>)[k] === 'string')

/** Each file of the folder, with the checks it exports. */
const modules = await Promise.all(
  readdirSync(DIR)
    .filter((f) => f.endsWith('.ts'))
    .map(async (f) => ({file: basename(f, '.ts'), checks: Object.values(await import(join(DIR, f))).filter(isCheck)})),
)

/** Every shipped topology, and the policy lab in routes mode (the one whose report has policy-external). */
function labs() {
  const files = readdirSync(TOPOLOGIES).filter((f) => f.endsWith('.yaml'))
  const tier = parse(readFileSync(join(TOPOLOGIES, 'policy-three-tier.yaml'), 'utf8'))
  tier.cluster = {...tier.cluster, routing: 'routes'}
  return [
    ...files.map((f) => [f, buildModel(loadTopologyFile(join(TOPOLOGIES, f)))] as const),
    ['policy-three-tier (routes)', buildModel(parseTopology(stringify(tier), 'tier.yaml'))] as const,
  ]
}

describe('the registry of probe checks', () => {
  it('every check has exactly one module, named by its id, and the registry lists that module', () => {
    const checkModules = modules.filter((m) => m.checks.length > 0)
    for (const m of checkModules) {
      expect(m.checks, `${m.file}.ts exports one check`).toHaveLength(1)
      expect(m.checks[0].id, `${m.file}.ts`).toBe(m.file)
      expect(checkOf(m.checks[0].id), `${m.file}.ts is the registry's`).toBe(m.checks[0])
    }
    expect(checkModules.map((m) => m.file).sort()).toEqual(CHECKS.map((c) => c.id).sort())
  })

  it('ids are unique, and each is the id its registry entry is looked up by', () => {
    const ids = CHECKS.map((c) => c.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const c of CHECKS) expect(checkOf(c.id)).toBe(c)
  })

  it("every section has at least one check, and the registry keeps the sections' order", () => {
    for (const s of SECTIONS)
      expect(
        CHECKS.some((c) => c.section === s),
        s,
      ).toBe(true)
    // a section's checks are neighbours, in SECTIONS order: the report, which prints section by section, keeps the registry's order
    const order = CHECKS.map((c) => c.section).filter((s, i, all) => s !== all[i - 1])
    expect(order).toEqual(SECTIONS)
  })

  it("a check plans probes or is judged from the pods' addresses, never both; every planning check plans in some shipped lab", () => {
    for (const c of CHECKS) {
      expect(Boolean(c.plan) !== Boolean(c.addresses), c.id).toBe(true)
      expect(c.title.length, c.id).toBeGreaterThan(10)
    }
    const planned = new Set(labs().flatMap(([, m]) => selectProbes(m).map((p) => p.check)))
    expect([...planned].sort()).toEqual(
      CHECKS.filter((c) => c.plan)
        .map((c) => c.id)
        .sort(),
    )
  })

  for (const [name, model] of labs()) {
    it(`${name}: the report lists its checks in registry order, every check of its sections that it shows`, () => {
      const probes = selectProbes(model)
      const sections = sectionsFor()
      const report = new Tally(probes).report(model, coverageFor(model), sections, new Map(), 1)
      const shown = CHECKS.filter((c) => report.sections.includes(c.section) && (c.inReport?.(model) ?? true))
      expect(report.checks.map((c) => c.id)).toEqual(shown.map((c) => c.id))
    })
  }
})
