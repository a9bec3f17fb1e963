// The Vagrantfile is part of the quick start: vagrant itself checks it where vagrant exists.
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ROOT} from '../helpers/constants.js'

const hasVagrant = spawnSync('vagrant', ['--version']).status === 0

describe('Vagrantfile', () => {
  const text = readFileSync(join(ROOT, 'Vagrantfile'), 'utf8')

  it('uses a Debian 12 box, installs Node 20 and runs the quick start', () => {
    expect(text).toMatch(/config\.vm\.box = "debian\/bookworm64"/)
    expect(text).toContain('setup_20.x')
    expect(text).toContain('scripts/quickstart.sh')
  })

  it.skipIf(!hasVagrant)('passes vagrant validate', () => {
    const r = spawnSync('vagrant', ['validate', '--ignore-provider'], {cwd: ROOT, encoding: 'utf8'}) // no VirtualBox here: check the file, not a provider
    expect(r.stdout + r.stderr).toMatch(/validated successfully/i)
    expect(r.status).toBe(0)
  })
})
