// `netlab graph`: which lab to draw — a running lab's saved model, or a topology file's model
// (pure: nothing needs to be up) — and the picture in the format asked for.
import {existsSync, statSync, writeFileSync} from 'node:fs'
import {dirname, extname, join, resolve} from 'node:path'
import {UsageError} from '../core/errors.js'
import {buildGraph, FULL} from '../graph/build.js'
import {toDot} from '../graph/dot.js'
import {toMermaid} from '../graph/mermaid.js'
import type {LabModel} from '../model/types.js'
import {bundledTopologies, bundledTopology} from '../core/paths.js'
import {listLabs, readState} from '../state/store.js'
import {loadLab, topologyPath} from './load.js'

/** The formats netlab graph writes (its --format options list them too: the command does not load this file). */
export type GraphFormat = 'svg' | 'dot' | 'mermaid' | 'json'

const EXTENSIONS: Record<string, GraphFormat> = {
  '.svg': 'svg',
  '.dot': 'dot',
  '.gv': 'dot',
  '.mmd': 'mermaid',
  '.mermaid': 'mermaid',
  '.json': 'json',
}

/** The format: as asked, else from the output file's extension, else SVG. */
export function graphFormat(format: string | undefined, output: string | undefined): GraphFormat {
  if (format) return format as GraphFormat
  return (output && EXTENSIONS[extname(output).toLowerCase()]) || 'svg'
}

interface GraphSource {
  model: LabModel
  /** "lab three-node (up)" or the topology file */
  from: string
}

/**
 * What to draw: a topology file named by its path, else the running lab of that name, else a
 * bundled topology of that name. Nothing named: the only lab up, or the default topology when
 * none is.
 */
function graphSource(arg: string | undefined): GraphSource {
  if (arg === undefined) {
    const labs = listLabs()
    if (labs.length > 1) throw new UsageError(`${labs.length} labs are up (${labs.join(', ')}); say which: netlab graph LAB`)
    if (labs.length === 1) return fromLab(labs[0]) ?? fromTopology(topologyPath(undefined))
    return fromTopology(topologyPath(undefined))
  }
  if (existsSync(arg) && statSync(arg).isFile()) return fromTopology(topologyPath(arg))
  const lab = /^[a-z][a-z0-9-]*$/.test(arg) ? fromLab(arg) : undefined
  if (lab) return lab
  if (bundledTopology(arg)) return fromTopology(topologyPath(arg))
  const labs = listLabs()
  throw new UsageError(
    `${arg} is neither a topology file nor a lab that is up (labs up: ` +
      `${labs.length ? labs.join(', ') : 'none'}; bundled topologies: ${bundledTopologies().join(', ')})`,
  )
}

function fromLab(lab: string): GraphSource | undefined {
  const state = readState(lab)
  return state ? {model: state.model, from: `lab ${lab} (${state.status})`} : undefined
}

function fromTopology(file: string): GraphSource {
  return {model: loadLab(file).model, from: file}
}

/** The picture as text (SVG, dot, mermaid) or the graph as JSON. SVG is drawn in-process. */
async function renderGraph(model: LabModel, format: GraphFormat, opts: {full?: boolean} = {}): Promise<string> {
  const graph = buildGraph(model, opts.full ? FULL : {})
  switch (format) {
    case 'json':
      return JSON.stringify(graph, null, 2) + '\n'
    case 'dot':
      return toDot(graph)
    case 'mermaid':
      return toMermaid(graph)
    case 'svg': {
      const {renderSvg} = await import('../graph/svg.js')
      return renderSvg(toDot(graph))
    }
  }
}

/** The command: draw, and write to the file or stdout (an SVG is not dumped on a terminal). */
export async function drawGraph(arg: string | undefined, opts: {format?: string; output?: string; full?: boolean}): Promise<void> {
  const format = graphFormat(opts.format, opts.output)
  if (format === 'svg' && !opts.output && process.stdout.isTTY) {
    throw new UsageError('an SVG is not for a terminal: write it to a file (-o lab.svg), or ask for --format ' + 'dot|mermaid|json')
  }
  const {model, from} = graphSource(arg)
  if (opts.output) checkOutput(opts.output, `${model.lab}.${format === 'mermaid' ? 'mmd' : format}`)
  const text = await renderGraph(model, format, {full: opts.full})
  if (!opts.output) {
    process.stdout.write(text)
    return
  }
  try {
    writeFileSync(opts.output, text)
  } catch (e) {
    throw new UsageError(`cannot write -o ${opts.output}: ${(e as Error).message.split(',')[0]}`)
  }
  process.stderr.write(`netlab: drew ${from} as ${format} in ${opts.output}\n`)
}

/** -o names a file in a directory that exists, before anything is drawn: a usage error in one line, not the system's. */
function checkOutput(output: string, name: string): void {
  if (existsSync(output) && statSync(output).isDirectory())
    throw new UsageError(`-o ${output} is a directory: name a file in it (-o ${join(output, name)})`)
  const dir = dirname(resolve(output))
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`-o ${output}: there is no directory ${dir} to write it in`)
}
