// NetnsHold (src/exec/netns-hold.ts) keeps a namespace alive after its name is deleted, until
// released: seen from the kernel by entering the held namespace and finding its link there.
// Past the open-file limit it holds fewer and the process keeps room to open files.
import {execFileSync, spawnSync} from 'node:child_process'
import {readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {NetnsHold} from '../../src/exec/netns-hold.js'
import {isRoot, ROOT, uniqueLab} from '../helpers/lab.js'

const ip = (...args: string[]) => execFileSync('ip', args, {encoding: 'utf8'})

/** This process's file descriptors open on namespace `ns` (its nsfs device and inode). */
function fdsOn(ns: {dev: number; ino: number}): string[] {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      const st = statSync(`/proc/self/fd/${fd}`)
      return st.ino === ns.ino && st.dev === ns.dev
    } catch {
      return false // the directory's own descriptor, closed by now
    }
  })
}

function deleteAll(names: string[]): void {
  const left = names.filter((n) => readdirSync('/run/netns').includes(n))
  if (left.length > 0) execFileSync('ip', ['-force', '-batch', '-'], {input: left.map((n) => `netns del ${n}\n`).join('')})
}

describe.skipIf(!isRoot)('holding namespaces while they are deleted', () => {
  it('keeps a namespace whose name is gone alive until released', () => {
    const ns = `netlab-${uniqueLab('hold')}.n0`
    const hold = new NetnsHold()
    try {
      ip('netns', 'add', ns)
      ip('-n', ns, 'link', 'add', 'held0', 'type', 'veth', 'peer', 'name', 'held1')
      const held = statSync(join('/run/netns', ns))
      hold.add([ns, `${ns}-never-made`]) // one that does not exist is skipped
      expect(hold.held).toBe(1)
      ip('netns', 'del', ns)
      expect(readdirSync('/run/netns')).not.toContain(ns)
      const [fd] = fdsOn(held)
      expect(fd).toBeDefined()
      // the kernel still has the namespace, link and all
      const inside = spawnSync('nsenter', [`--net=/proc/${process.pid}/fd/${fd}`, 'ip', '-o', 'link', 'show', 'held0'], {encoding: 'utf8'})
      expect(inside.status, inside.stderr).toBe(0)
      expect(inside.stdout).toContain('held0')
      hold.release()
      expect(hold.held).toBe(0)
      expect(fdsOn(held)).toEqual([])
    } finally {
      hold.release()
      deleteAll([ns])
    }
  })

  it('holds fewer past the open-file limit, and leaves room to open files', () => {
    const names = Array.from({length: 500}, (_, i) => `netlab-${uniqueLab('hfull')}.n${i}`)
    try {
      execFileSync('ip', ['-batch', '-'], {input: names.map((n) => `netns add ${n}\n`).join('')})
      const script = [
        `import {openSync} from 'node:fs'`,
        `import {NetnsHold} from ${JSON.stringify(join(ROOT, 'dist/src/exec/netns-hold.js'))}`,
        `const hold = new NetnsHold()`,
        `hold.add(${JSON.stringify(names)})`,
        `const room = Array.from({length: 100}, () => openSync('/dev/null', 'r')).length`,
        `console.log(JSON.stringify({held: hold.held, room}))`,
        `hold.release()`,
      ].join('\n')
      // a soft and hard limit of 400 open files (node cannot raise it past that), fewer than the names
      const r = spawnSync('prlimit', ['--nofile=400:400', process.execPath, '--input-type=module', '-e', script], {encoding: 'utf8'})
      expect(r.status, r.stderr).toBe(0)
      const {held, room} = JSON.parse(r.stdout) as {held: number; room: number}
      expect(held).toBeGreaterThan(0)
      expect(held).toBeLessThan(names.length)
      expect(room).toBe(100)
    } finally {
      deleteAll(names)
    }
  })
})
