// netlab status's Services (src/lab/services-status.ts): every Service with its ClusterIP, ports,
// node port, policies and endpoints, from the model; in the status text and its JSON.
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {buildModel} from '../../src/compile/model.js'
import {renderServices, servicesStatus} from '../../src/lab/services-status.js'
import {loadTopologyFile} from '../../src/topology/parse.js'

const model = buildModel(loadTopologyFile(fileURLToPath(new URL('../fixtures/trace/services.yaml', import.meta.url))))

describe('status: the Services', () => {
  const s = servicesStatus(model.services!)

  it('lists each Service with its ports and endpoints (JSON)', () => {
    expect(s).toMatchObject({proxy: 'iptables', serviceCIDR: '10.96.0.0/16'})
    expect(s.list.map((x) => [x.name, x.type, x.clusterIP])).toEqual([
      ['web', 'ClusterIP', '10.96.0.10'],
      ['api', 'NodePort', '10.96.0.11'],
      ['empty', 'ClusterIP', '10.96.0.12'],
      ['webnp', 'NodePort', '10.96.0.13'],
    ])
    expect(s.list[1]).toMatchObject({
      externalTrafficPolicy: 'Local',
      sessionAffinity: 'ClientIP',
      affinityTimeout: 10800,
      ports: [
        {
          port: 443,
          protocol: 'TCP',
          targetPort: 8443,
          nodePort: 30443,
          endpoints: [{pod: 'api-0', node: 'node-1', ip: '10.244.1.3', port: 8443}],
        },
      ],
    })
    expect(s.list[2].ports[0].endpoints).toEqual([])
  })

  it('renders a row per port: port → target, node port, endpoints with their node, and the policies', () => {
    const text = renderServices(s).join('\n')
    expect(text).toContain("services: kube-proxy's iptables mode: ")
    expect(text).toContain('service range 10.96.0.0/16')
    expect(text).toMatch(
      /^web +ClusterIP +10\.96\.0\.10 +http 80\/TCP → http +web-0 10\.244\.0\.2:8080 \(node-0\), web-1 10\.244\.1\.2:8080 \(node-1\)$/m,
    )
    expect(text).toMatch(/^api +NodePort +10\.96\.0\.11 +443\/TCP → 8443, node port 30443 +api-0 10\.244\.1\.3:8443 \(node-1\)$/m)
    expect(text).toMatch(/^api .*\n +eTP Local\n +affinity ClientIP 10800s\n/m)
    expect(text).toMatch(/^empty .* none: connections are refused$/m)
  })
})
