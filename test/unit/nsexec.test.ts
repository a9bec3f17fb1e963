// The runner's rtnetlink encoder, without root: assets/netlab-nsexec.pl runs inside a fresh
// user + network namespace (`unshare -rn`), applies the op records the ip driver makes for the
// plan's kinds of ip commands, and the kernel's own view (ip -j, run by the same runner as exec
// steps) must show exactly what those commands ask for.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {NSEXEC} from '../../src/exec/fanout.js'
import {prepare} from '../../src/exec/batch.js'
import type {Action} from '../../src/plan/types.js'

const canUnshare = spawnSync('unshare', ['-rn', 'true']).status === 0

const act = (id: number, args: string[]): Action => ({id, phase: 't', netns: '.', tool: 'ip', args, why: 't', undo: {kind: 'netns', netns: '.'}})

describe.skipIf(!canUnshare)('nsexec speaks rtnetlink as ip would (in an unprivileged namespace)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-nsexec-test-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  function runJob(steps: string[]): {stdout: string; out: (step: number) => string; err: (step: number) => string} {
    const r = spawnSync('unshare', ['-rn', 'perl', NSEXEC, '1', dir], {input: ['0', '.', ...steps].join('\t') + '\n', encoding: 'utf8'})
    expect(r.status, r.stderr).toBe(0)
    const read = (f: string) => {
      try {
        return readFileSync(join(dir, f), 'utf8')
      } catch {
        return ''
      }
    }
    return {stdout: r.stdout, out: (k) => read(`0.${k}.out`), err: (k) => read(`0.${k}.err`)}
  }

  const exec = (name: string, argv: string[]) => {
    writeFileSync(join(dir, name), `argv\t${argv.join('\t')}\n`)
    return `exec:${join(dir, name)}`
  }

  it('link set, addr add, route add and neigh add land in the kernel as asked', () => {
    const actions = [
      act(0, ['link', 'set', 'lo', 'up', 'alias', 'netlab:test lab']),
      act(1, ['link', 'set', 'd0', 'up']),
      act(2, ['addr', 'add', '10.1.2.3/24', 'dev', 'd0']),
      act(3, ['route', 'add', '10.9.0.0/24', 'via', '10.1.2.1', 'dev', 'd0']),
      act(4, ['route', 'add', '10.8.0.0/16', 'dev', 'd0']),
      act(5, ['route', 'add', 'default', 'via', '10.1.2.254', 'dev', 'd0']),
      act(6, ['neigh', 'add', '10.1.2.7', 'lladdr', '0a:58:0a:01:02:07', 'dev', 'd0', 'nud', 'permanent']),
    ]
    const p = prepare({netns: '.', tool: 'ip', actions}, {netlink: true})
    expect(p.steps[0].kind).toBe('netlink')
    writeFileSync(join(dir, 'ops'), (p.steps[0] as {ops: string[]}).ops.join('\n') + '\n')
    const job = runJob([exec('mk', ['ip', 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1']), `netlink:${join(dir, 'ops')}`, exec('a', ['ip', '-j', 'addr']), exec('r', ['ip', '-j', 'route']), exec('n', ['ip', '-j', 'neigh']), exec('l', ['ip', '-j', 'link'])])
    expect(job.stdout).toContain('ok 0')
    const links = JSON.parse(job.out(5)) as {ifname: string; ifalias?: string; flags: string[]}[]
    expect(links.find((l) => l.ifname === 'lo')?.ifalias).toBe('netlab:test lab')
    expect(links.find((l) => l.ifname === 'd0')?.flags).toContain('UP')
    const addrs = (JSON.parse(job.out(2)) as {ifname: string; addr_info: {local: string; prefixlen: number}[]}[]).find((l) => l.ifname === 'd0')!.addr_info
    expect(addrs.map((a) => `${a.local}/${a.prefixlen}`)).toEqual(['10.1.2.3/24'])
    const routes = (JSON.parse(job.out(3)) as {dst: string; gateway?: string; dev: string; scope?: string}[]).map((r) => `${r.dst} ${r.gateway ?? '-'} ${r.dev} ${r.scope ?? 'global'}`)
    expect(routes).toEqual(expect.arrayContaining(['default 10.1.2.254 d0 global', '10.9.0.0/24 10.1.2.1 d0 global', '10.8.0.0/16 - d0 link']))
    const neigh = JSON.parse(job.out(4)) as {dst: string; lladdr: string; state: string[]}[]
    expect(neigh).toEqual([expect.objectContaining({dst: '10.1.2.7', lladdr: '0a:58:0a:01:02:07', state: ['PERMANENT']})])
  })

  it('a request the kernel refuses names its op, and the ops after it are not sent', () => {
    const actions = [act(0, ['link', 'set', 'lo', 'up']), act(1, ['route', 'add', '10.9.0.0/24', 'via', '10.1.2.1', 'dev', 'nosuchdev']), act(2, ['addr', 'add', '10.7.0.1/24', 'dev', 'lo'])]
    const p = prepare({netns: '.', tool: 'ip', actions}, {netlink: true})
    writeFileSync(join(dir, 'ops2'), (p.steps[0] as {ops: string[]}).ops.join('\n') + '\n')
    const job = runJob([`netlink:${join(dir, 'ops2')}`, exec('a2', ['ip', '-j', 'addr', 'show', 'dev', 'lo'])])
    expect(job.stdout).toContain('fail 0 0 1 2')
    expect(job.err(0)).toContain('Cannot find device "nosuchdev"')
  })
})
