// dist/netlab.mjs: loads the CLI bundle (dist/netlab.cjs) with V8's code cache (dist/netlab.cjs.cache,
// made by `npm run build`). Compiling the 2 MB bundle was 40-50 ms of every command's start-up;
// with the cache V8 skips it. Node 20 has no module.enableCompileCache, hence vm.Script.
// Copied to dist/ by scripts/bundle.mjs; bin/run.js and oclif (package.json's oclif.commands) import it.
import {readFileSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {fileURLToPath, URL} from 'node:url'
import vm from 'node:vm'

const file = fileURLToPath(new URL('./netlab.cjs', import.meta.url))
const cacheFile = `${file}.cache`
let cachedData
try {
  cachedData = readFileSync(cacheFile)
} catch {
  // no cache (a build without one): compile as usual
}
const script = new vm.Script(
  `(function (exports, require, module, __filename, __dirname, __netlab_import) {${readFileSync(file, 'utf8')}\n})`,
  {
    filename: file,
    cachedData,
  },
)
const module = {exports: {}}
// the bundle's dynamic imports (oclif loading this file, @viz-js/viz) go through here: code run
// by vm.Script cannot import() by itself in Node 20
script.runInThisContext()(module.exports, createRequire(file), module, file, fileURLToPath(new URL('.', import.meta.url)), (s) => import(s))

// `npm run build` makes the cache after running a few commands, so that the functions they
// compiled lazily are in it too
if (process.env.NETLAB_WRITE_CODE_CACHE === '1') process.on('exit', () => writeFileSync(cacheFile, script.createCachedData()))

export const {COMMANDS, NOT_FOUND, main} = module.exports
/** whether V8 took the code cache: 'used', 'rejected' (another Node or V8 flags: compiled as before) or 'none' */
export const codeCache = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used'
