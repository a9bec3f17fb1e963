// The house plan of src/, checked by `npm run lint` (dependency-cruiser): every folder is a layer,
// and a layer imports only from layers below it (type imports included). docs/architecture.md
// says what each layer owns. Bottom first:
const LAYERS = [
  'core', // errors, paths, names, IPv4 math, the action/plan vocabulary: imported by everything
  'tools', // one driver per program a plan runs (ip, iptables, …): how an action reads and batches
  'plan', // the plan as data: the builder every phase writes through, the renderers
  'topology', // the YAML file → a checked Topology
  'cni', // CNI presets (conflists a lab can name); cni/plugin is its own program, below
  'model', // the lab model's vocabulary: what a lab is made of, what a routing mode must say
  'modes', // the routing modes: one module each, and their registry
  'proxy', // kube-proxy's modes (iptables, nftables, none): one module each, and their registry
  'compile', // topology → model → plan, asking the lab's mode at each step
  'graph', // the model as a picture
  'state', // the state directory: saved model, plan, journal
  'exec', // running a plan: batches, namespaces, the runner, rollback
  'host', // this machine: its tools, its processes, the lab's locks
  'lab', // use cases on a lab: up, down, status, policy apply, cni check, …
  'probe', // proving the lab from inside its namespaces
  'trace', // following one packet through the kernel's state
  'exercise', // faults to find: break and fix
  'cli', // the command line's machinery: the base command (errors to exit codes, --json), completion, not-found
  'commands', // oclif commands: parse flags, call a use case; main.ts is the program
]

// The few imports that go against the order, each with its reason. Keep it at three or fewer.
const EXCEPTIONS = []

const inLayer = (l) => `^src/${l}/`
const rules = LAYERS.flatMap((layer, i) => {
  const above = LAYERS.slice(i + 1)
  if (above.length === 0) return []
  return [
    {
      name: `layer-${layer}`,
      comment: `${layer} may import only from layers below it: ${LAYERS.slice(0, i).join(', ') || '(none)'}`,
      severity: 'error',
      from: {path: inLayer(layer)},
      to: {path: `^src/(${above.join('|')})/`, pathNot: EXCEPTIONS.filter((e) => e.from === layer).map((e) => e.to)},
    },
  ]
})

module.exports = {
  forbidden: [
    {name: 'no-circular', severity: 'error', comment: 'no import cycles, type imports included', from: {}, to: {circular: true}},
    {
      name: 'known-layer',
      severity: 'error',
      comment: 'every file of src/ is in a layer folder (add a new folder to LAYERS in its place)',
      from: {path: '^src/', pathNot: `^src/(${LAYERS.join('|')})/`},
      to: {},
    },
    {
      name: 'cni-plugin-apart',
      severity: 'error',
      comment: 'netlab-cni is a program of its own (bin/netlab-cni): it uses core and nothing else of netlab',
      from: {path: '^src/cni/plugin/'},
      to: {path: '^src/', pathNot: '^src/(core|cni/plugin)/'},
    },
    ...rules,
  ],
  options: {
    doNotFollow: {path: 'node_modules'},
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: {fileName: 'tsconfig.json'},
  },
}
