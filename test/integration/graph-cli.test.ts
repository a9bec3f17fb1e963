// netlab graph through the CLI, no root and no lab needed: formats, output files, bad input.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {BIN, cliEnv, makeStateDir, netlab, removeDir, ROOT} from '../helpers/lab.js'

describe('netlab graph (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-graph-'))
  const env = {NETLAB_STATE_DIR: makeStateDir()} // no lab up: names are topologies
  afterAll(() => {
    removeDir(dir)
    removeDir(env.NETLAB_STATE_DIR)
  })

  it('-o FILE picks the format from its extension; a bundled topology by name', () => {
    for (const [file, head] of [
      ['lab.svg', /^<\?xml/],
      ['lab.dot', /^digraph "netlab three-node-routes"/],
      ['lab.mmd', /^---\ntitle: "lab three-node-routes/],
      ['lab.json', /^\{\n {2}"lab": "three-node-routes"/],
    ] as const) {
      const r = netlab(['graph', 'three-node-routes', '-o', join(dir, file)], env)
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toBe('')
      expect(r.stderr).toContain(`in ${join(dir, file)}`)
      expect(readFileSync(join(dir, file), 'utf8')).toMatch(head)
    }
  })

  it('--format to stdout; --json is the graph as data; a topology file by path', () => {
    const dot = netlab(['graph', join(ROOT, 'topologies', 'two-segment-routes.yaml'), '--format', 'dot'], env)
    expect(dot.code, dot.stderr).toBe(0)
    expect(dot.stdout).toContain('label="eth1 192.168.60.1"')
    const json = netlab(['graph', 'three-node', '--json'], env)
    const g = JSON.parse(json.stdout)
    expect(g.nodes.filter((n: {kind: string}) => n.kind === 'pod')).toHaveLength(5)
    // no argument and no lab up: the default topology
    expect(JSON.parse(netlab(['graph', '--json'], env).stdout)).toEqual(g)
  })

  it('--full draws every node of a big lab', () => {
    const some = JSON.parse(netlab(['graph', 'fifty-node', '--json'], env).stdout)
    const all = JSON.parse(netlab(['graph', 'fifty-node', '--json', '--full'], env).stdout)
    expect(some.clusters.filter((c: {kind: string}) => c.kind === 'node')).toHaveLength(2)
    expect(all.clusters.filter((c: {kind: string}) => c.kind === 'node')).toHaveLength(50)
  })

  it('neither a file nor a lab nor a bundled topology: exit 2, one line naming what there is', () => {
    const r = netlab(['graph', 'nosuch'], env)
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/nosuch is neither a topology file nor a lab that is up \(labs up: none; bundled topologies: .*three-node/)
    const bad = netlab(['graph', 'three-node', '--format', 'png'], env)
    expect(bad.code).toBe(2)
  })

  it('-o a directory, or in a directory that does not exist: exit 2, one line, nothing written (issue 22, 21)', () => {
    const before = readdirSync(dir)
    const inDir = netlab(['graph', 'three-node', '-o', dir], env)
    expect(inDir.code).toBe(2)
    expect(inDir.stderr).toBe(`netlab: -o ${dir} is a directory: name a file in it (-o ${join(dir, 'three-node.svg')})\n`)
    const nowhere = netlab(['graph', 'three-node', '-o', join(dir, 'nosuch', 'x.dot')], env)
    expect(nowhere.code).toBe(2)
    expect(nowhere.stderr).toBe(`netlab: -o ${join(dir, 'nosuch', 'x.dot')}: there is no directory ${join(dir, 'nosuch')} to write it in\n`)
    const json = netlab(['graph', 'three-node', '-o', dir, '--json'], env)
    expect(JSON.parse(json.stdout).error).toMatchObject({exitCode: 2, kind: 'usage'})
    expect(readdirSync(dir)).toEqual(before)
  })

  it.skipIf(spawnSync('script', ['--version']).status !== 0)('an SVG is not written to a terminal: exit 2', () => {
    const r = spawnSync('script', ['-qec', `${process.execPath} ${BIN} graph three-node`, '/dev/null'], {
      cwd: ROOT,
      env: cliEnv(env),
      encoding: 'utf8',
    })
    expect(r.status).toBe(2)
    expect(r.stdout).toContain('an SVG is not for a terminal')
    expect(r.stdout).not.toContain('<svg')
  })
})
