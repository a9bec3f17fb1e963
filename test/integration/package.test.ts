// What `npm pack` ships is a working netlab: packed from this checkout as built (`npm test` builds
// first; --ignore-scripts: prepack's build would rewrite dist/ under the tests running beside this one),
// installed into a throw-away prefix with no registry (the CLI bundle holds its dependencies but
// Graphviz, which the tarball carries), and run from another directory, where it finds its
// bundled topologies by name and its assets. As root it also builds, probes (its engine is an asset, assets/netlab-probe.pl) and removes a lab.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {cliEnv, destroyLab, isRoot, makeStateDir, removeDir, ROOT, uniqueLab} from '../helpers/lab.js'

describe('the npm package', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'netlab-pack-'))
  const prefix = join(tmp, 'prefix')
  const elsewhere = mkdtempSync(join(tmp, 'cwd-'))
  const stateDir = makeStateDir()
  const lab = uniqueLab('pkg')
  let files: string[] = []
  afterAll(() => {
    if (isRoot) destroyLab(lab, stateDir)
    removeDir(stateDir)
    removeDir(tmp)
  })

  /** the installed netlab, run from a directory that is not the checkout */
  const installed = (args: string[]) => {
    const r = spawnSync(join(prefix, 'bin', 'netlab'), args, {
      cwd: elsewhere,
      env: cliEnv({NETLAB_STATE_DIR: stateDir, NO_COLOR: '1'}),
      encoding: 'utf8',
      timeout: 120_000,
    })
    return {code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr}
  }

  beforeAll(() => {
    const pack = spawnSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 180_000,
    })
    expect(pack.status, pack.stderr).toBe(0)
    const [info] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as {filename: string; files: {path: string}[]}[]
    files = info.files.map((f) => f.path).sort()
    const install = spawnSync(
      'npm',
      ['install', '--global', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', join(tmp, info.filename)],
      {cwd: tmp, encoding: 'utf8', timeout: 120_000},
    )
    expect(install.status, install.stderr).toBe(0)
  }, 300_000)

  it('holds the bundle, the probe engine and the other assets, the topologies and a LICENSE; no sources, maps, tests or bench', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'README.md',
        'package.json',
        'bin/run.js',
        'bin/netlab-cni',
        'examples/bash-cni/bash-cni',
        'dist/netlab.mjs',
        'dist/netlab.cjs',
        'dist/netlab.cjs.cache',
        'dist/netlab-cni.mjs',
        'assets/netlab-probe.pl',
        'assets/netlab-nsexec.pl',
        'assets/netlab-bashrc',
        'topologies/three-node.yaml',
        'topologies/fifty-node.yaml',
        'docs/three-node.svg',
      ]),
    )
    expect(files.filter((f) => /(^|\/)src\/.*\.ts$|\.map$|^test\/|^bench\/|^dist\/bench\/|^scripts\//.test(f))).toEqual([])
    expect(files.filter((f) => f.startsWith('dist/'))).toEqual([
      'dist/netlab-cni.mjs',
      'dist/netlab.cjs',
      'dist/netlab.cjs.cache',
      'dist/netlab.mjs',
    ])
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License/)
  })

  it('installs netlab-cni on the PATH as a CNI plugin that answers VERSION from its own bundle', () => {
    const r = spawnSync(join(prefix, 'bin', 'netlab-cni'), [], {
      cwd: elsewhere,
      env: {PATH: process.env.PATH, CNI_COMMAND: 'VERSION'},
      input: '{"cniVersion":"1.0.0"}',
      encoding: 'utf8',
    })
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({cniVersion: '1.0.0', supportedVersions: expect.arrayContaining(['0.4.0', '1.1.0'])})
  })

  it('needs no dependency from the registry: everything but Graphviz is in the bundle, and Graphviz is in the tarball', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>
      bundleDependencies?: string[]
    }
    expect(Object.keys(pkg.dependencies ?? {})).toEqual(['@viz-js/viz'])
    expect(pkg.bundleDependencies).toEqual(['@viz-js/viz'])
    expect(files).toContain('node_modules/@viz-js/viz/package.json')
    expect(files.filter((f) => f.startsWith('node_modules/') && !f.startsWith('node_modules/@viz-js/viz/'))).toEqual([])
    // and the bundle leaves it out: the other commands do not parse it
    expect(readFileSync(join(ROOT, 'dist', 'netlab.cjs'), 'utf8')).not.toContain('graphvizVersion')
  })

  it('finds its bundled topologies by name and by their path in the package, from any directory', () => {
    for (const name of ['three-node', 'fifty-node', 'topologies/two-segment-routes.yaml']) {
      const r = installed(['validate', name])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toContain(join(prefix, 'lib', 'node_modules', 'netlab', 'topologies'))
    }
    const g = installed(['graph', 'three-node-routes', '-f', 'dot'])
    expect(g.code, g.stderr).toBe(0)
    expect(g.stdout).toContain('10.244.9.0/24 via 192.168.50.21')
    const svg = installed(['graph', 'three-node', '-o', join(elsewhere, 'lab.svg')])
    expect(svg.code, svg.stderr).toBe(0)
    expect(readFileSync(join(elsewhere, 'lab.svg'), 'utf8')).toContain('<svg')
  })

  it('has its help, did-you-mean and completion in the bundle, and names itself netlab in its hints', () => {
    const help = installed(['help', 'up'])
    expect(help.code, help.stderr).toBe(0)
    expect(help.stdout).toContain('$ netlab up')
    const typo = installed(['stauts'])
    expect(typo.code).toBe(2)
    expect(typo.stderr).toContain('Did you mean "netlab status"?')
    const complete = installed(['__complete', 'up', 'fifty'])
    expect(complete.stdout.split('\n')).toContain('fifty-node')
    expect(installed(['autocomplete', 'bash']).stdout).toContain('netlab __complete ')
  })

  it.skipIf(!isRoot)('builds, probes and removes a lab with its own assets', () => {
    const topo = join(elsewhere, 'lab.yaml')
    writeFileSync(topo, `name: ${lab}\nnodes:\n  - {name: n0, pods: 1}\n  - {name: n1, pods: 1}\n`)
    const up = installed(['up', topo])
    expect(up.code, up.stderr).toBe(0)
    expect(up.stdout).toContain('Try: netlab probe') // as it was started
    expect(up.stdout).not.toContain('Create the network namespaces') // progress is on stderr
    expect(up.stderr).toContain('Create the network namespaces')
    const probe = installed(['probe', lab, '--json'])
    expect(probe.code, probe.stderr + probe.stdout).toBe(0)
    expect(JSON.parse(probe.stdout).failed).toBe(0)
    const down = installed(['down', lab])
    expect(down.code, down.stderr).toBe(0)
  })
})
