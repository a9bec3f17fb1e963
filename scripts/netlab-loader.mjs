// dist/netlab.mjs: loads the CLI bundle (dist/netlab.cjs) with V8's code cache (dist/netlab.cjs.cache,
// made by `npm run build`). Compiling the bundle was a large part of every command's start-up
// (bench/README.md); with the cache V8 skips it. Node 20 has no module.enableCompileCache, hence vm.Script.
// Copied to dist/ by scripts/bundle.mjs; bin/run.js and oclif (package.json's oclif.commands) import it.
import {readFileSync, renameSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname} from 'node:path'
import {fileURLToPath, pathToFileURL, URL} from 'node:url'
import vm from 'node:vm'

const file = fileURLToPath(new URL('./netlab.cjs', import.meta.url))
const cacheFile = `${file}.cache`
let cachedData
try {
  cachedData = readFileSync(cacheFile)
} catch {
  // no cache (a build without one): compile as usual
}
// strict, as the ES modules it is made of were; __netlab_import_meta_url stands for import.meta.url
const script = new vm.Script(
  `(function (exports, require, module, __filename, __dirname, __netlab_import, __netlab_import_meta_url) {'use strict';${readFileSync(file, 'utf8')}\n})`,
  {filename: file, cachedData},
)
const module = {exports: {}}
// the bundle's dynamic imports (oclif loading this file, @viz-js/viz) go through here: code run
// by vm.Script cannot import() by itself in Node 20
script.runInThisContext()(
  module.exports,
  createRequire(file),
  module,
  file,
  dirname(file),
  (specifier, options) => import(specifier, options),
  pathToFileURL(file).href,
)

// `npm run build` makes the cache after running a command, so that the functions it compiled
// lazily are in it too; written aside, then moved into place
if (process.env.NETLAB_WRITE_CODE_CACHE === '1')
  process.on('exit', () => {
    writeFileSync(`${cacheFile}.new`, script.createCachedData())
    renameSync(`${cacheFile}.new`, cacheFile)
  })

export const {COMMANDS, NOT_FOUND, main} = module.exports
/** whether V8 took the code cache: 'used', 'rejected' (another Node or V8 flags: compiled as before) or 'none' */
export const codeCache = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used'
