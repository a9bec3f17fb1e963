// dot text -> SVG, in-process: Graphviz compiled to WebAssembly (@viz-js/viz), so drawing a lab
// needs no system package. Loaded only when an SVG is asked for: it is megabytes of code that
// the CLI bundle leaves out (every command would pay to parse it), and the npm package carries
// it as its one bundled dependency.
import {FONT} from './dot.js'

export async function renderSvg(dot: string): Promise<string> {
  const {instance} = await import('@viz-js/viz')
  const viz = await instance()
  const r = viz.render(dot, {format: 'svg'})
  if (r.status !== 'success') throw new Error(`graphviz could not draw the graph: ${r.errors.map((e) => e.message).join('; ')}`)
  // fallbacks for the one font the layout was measured with (see ./dot.ts)
  return r.output.replaceAll(`font-family="${FONT}"`, `font-family="${FONT},'DejaVu Sans',Arial,Helvetica,sans-serif"`)
}
