import {parseDocument, isSeq, isMap, isScalar} from 'yaml'
const t = `name: x # c
nodes:
  - name: a   # first
    pods: 2   # two
  # about b
  - name: b
    pods:
      - p1   # p1c
      - {name: p2, labels: {a: b}}

  - {name: c, pods: [q1, q2]}
  - name: d
    pods:
external: []
`
const doc = parseDocument(t)
const nodes = doc.get('nodes', true)
console.log('seq', nodes.range, JSON.stringify(t.slice(nodes.range[0], nodes.range[2])))
for (const it of nodes.items) {
  console.log('item', it.range, JSON.stringify(t.slice(it.range[0], it.range[2])), it.flow)
  const p = it.get('pods', true)
  if (p) console.log('  pods', p.range, JSON.stringify(t.slice(p.range[0], p.range[2])), isScalar(p)&&p.value, p.items?.map(i=>i.range))
  const pair = it.items.find(i=>i.key.value==='pods'); if (pair) console.log('  podkey', pair.key.range, pair.value)
}
