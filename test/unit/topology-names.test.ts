// An installed netlab finds its bundled topologies by name, from any directory.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {topologyPath} from '../../src/lab/load.js'
import {bundledTopologies, bundledTopology} from '../../src/core/paths.js'
import {ROOT} from '../helpers/lab.js'

describe('bundled topologies, found by name from any directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-cwd-'))
  const cwd = process.cwd()
  afterAll(() => {
    process.chdir(cwd)
    rmSync(dir, {recursive: true, force: true})
  })

  it('lists topologies/ by name', () => {
    expect(bundledTopologies()).toEqual(expect.arrayContaining(['three-node', 'fifty-node', 'three-node-routes', 'two-segment-routes']))
  })

  it('a name, a name.yaml or topologies/NAME.yaml; nothing else of the package', () => {
    const want = join(ROOT, 'topologies', 'fifty-node.yaml')
    expect(bundledTopology('fifty-node')).toBe(want)
    expect(bundledTopology('fifty-node.yaml')).toBe(want)
    expect(bundledTopology('topologies/fifty-node.yaml')).toBe(want)
    expect(bundledTopology('nope')).toBeUndefined()
    expect(bundledTopology('../package')).toBeUndefined()
    expect(bundledTopology('topologies/../package.json')).toBeUndefined()
  })

  it('a file in the current directory wins over a bundled topology of the same name', () => {
    process.chdir(dir)
    expect(topologyPath('three-node')).toBe(join(ROOT, 'topologies', 'three-node.yaml'))
    expect(topologyPath(undefined)).toBe(join(ROOT, 'topologies', 'three-node.yaml'))
    writeFileSync(join(dir, 'three-node'), 'name: mine\nnodes: [{name: a}]\n')
    expect(topologyPath('three-node')).toBe(join(dir, 'three-node'))
    expect(topologyPath('missing.yaml')).toBe(join(dir, 'missing.yaml')) // reported as missing by the parser
  })
})
