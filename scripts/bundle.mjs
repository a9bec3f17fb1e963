// npm run build, after tsc: the CLI as one CommonJS file (dist/netlab.cjs) behind a small ESM
// loader (dist/netlab.mjs, from scripts/netlab-loader.mjs) that gives V8 its code cache, and the
// cache itself (dist/netlab.cjs.cache); and the CNI plugin's bundle (dist/netlab-cni.mjs).
import {execFileSync} from 'node:child_process'
import {copyFileSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {build} from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
const cjs = join(dist, 'netlab.cjs')
/** what both bundles share: one file for Node 20 from tsc's output */
const bundle = (entry, options) =>
  build({entryPoints: [join(dist, entry)], bundle: true, platform: 'node', target: 'node20', logLevel: 'warning', ...options})

await bundle('src/commands/main.js', {
  format: 'cjs',
  external: ['typescript', '@viz-js/viz'],
  outfile: cjs,
  // src/core/paths.ts finds the package from its own file: the loader passes the bundle's URL in;
  // any other use of import.meta would be empty in CommonJS, so it stops the build
  define: {'import.meta.url': '__netlab_import_meta_url'},
  logOverride: {'empty-import-meta': 'error'},
})
// a dynamic import() cannot run in code compiled by vm.Script (Node 20): the loader passes one in
const text = readFileSync(cjs, 'utf8')
const patched = text.replaceAll(/\bawait import\(/g, 'await __netlab_import(')
if (patched === text || /[^\w$."'`]import\((?!\))/.test(patched))
  throw new Error('bundle: the dynamic imports of the bundle are not where this script expects them')
writeFileSync(cjs, patched)
copyFileSync(join(root, 'scripts/netlab-loader.mjs'), join(dist, 'netlab.mjs'))

// the code cache, written after a command that compiles much of what `up`, `probe` and `down`
// run (a pure one: nothing here touches the machine), without the caller's NODE_OPTIONS (V8
// flags change the cache, and a cache made under other flags is rejected)
rmSync(`${cjs}.cache`, {force: true})
const env = {...process.env, NETLAB_WRITE_CODE_CACHE: '1'}
delete env.NODE_OPTIONS
execFileSync(process.execPath, [join(root, 'bin/run.js'), 'plan', join(root, 'topologies/three-node.yaml'), '--json'], {
  env,
  stdio: ['ignore', 'ignore', 'inherit'],
})
const check = execFileSync(
  process.execPath,
  ['--input-type=module', '-e', `console.log((await import(${JSON.stringify(join(dist, 'netlab.mjs'))})).codeCache)`],
  {env: {...env, NETLAB_WRITE_CODE_CACHE: ''}, encoding: 'utf8'},
).trim()
if (check !== 'used') throw new Error(`bundle: V8 did not take the code cache just made (${check})`)

await bundle('src/cni/plugin/main.js', {format: 'esm', outfile: join(dist, 'netlab-cni.mjs')})
