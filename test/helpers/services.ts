// A lab with every kind of Service the probe's services section checks (the unit tests' and
// test/integration/probe-services.test.ts's): named `lab`, to be renamed.
/** Three nodes, a client pod on the one without web endpoints; every kind of Service the section checks. */
export const SERVICES_LAB = `
name: lab
cluster: {serviceCIDR: 10.96.0.0/16}
nodes:
  - name: node-0
    pods:
      - {name: web-0, labels: {app: web}, ports: [{name: http, port: 8080}]}
      - {name: db-0, labels: {app: db}}
  - name: node-1
    pods:
      - {name: web-1, labels: {app: web}, ports: [{name: http, port: 8081}]}
      - {name: web-2, labels: {app: web}, ports: [{name: http, port: 8081}]}
  - name: node-2
    pods: [{name: client}]
external: [{name: internet}]
services:
  - name: web
    selector: {app: web}
    ports: [{name: http, port: 80, targetPort: http}, {name: dns, port: 53, targetPort: 5353, protocol: UDP}]
  - name: api
    type: NodePort
    selector: {app: web}
    ports: [{port: 8000, targetPort: 9000}]
  - name: db
    type: NodePort
    externalTrafficPolicy: Local
    selector: {app: db}
    ports: [{port: 5432, targetPort: 5432}]
  - name: sticky
    sessionAffinity: ClientIP
    selector: {app: web}
    ports: [{port: 81, targetPort: http}]
  - name: empty
    selector: {app: nobody}
    ports: [{port: 80}]
`
