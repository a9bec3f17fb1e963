// The Vagrantfile is part of the quick start: vagrant itself checks it where vagrant exists.
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ROOT} from '../helpers/constants.js'

const hasVagrant = spawnSync('vagrant', ['--version']).status === 0

describe('Vagrantfile', () => {
  const text = readFileSync(join(ROOT, 'Vagrantfile'), 'utf8')
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const vagrantSection = readme.slice(readme.indexOf('## Vagrant'), readme.indexOf('\n## ', readme.indexOf('## Vagrant') + 1))

  it('uses a Debian 12 box, installs a supported Node.js LTS line (24; 20 is past its end of life) and runs the quick start', () => {
    expect(text).toMatch(/config\.vm\.box = "debian\/bookworm64"/)
    expect(text).toContain('https://deb.nodesource.com/setup_24.x')
    expect(text).not.toMatch(/setup_(1\d|20|21|23)\.x/)
    expect(text).toMatch(/-lt 22 \]/) // an older node is replaced; 22 or newer is kept
    expect(text).toContain('scripts/quickstart.sh')
  })

  it('names its providers, and the README says which it needs and that the synced folder is one-way rsync', () => {
    expect(text).toMatch(/config\.vm\.provider "virtualbox"/)
    expect(text).toMatch(/config\.vm\.provider "libvirt"/)
    expect(text).toMatch(/synced_folder "\.", "\/netlab", type: "rsync"/)
    expect(vagrantSection).toMatch(/VirtualBox/)
    expect(vagrantSection).toMatch(/libvirt/)
    expect(vagrantSection).toMatch(/one-way/)
    expect(vagrantSection).toMatch(/rsync/)
    expect(vagrantSection).toMatch(/Node\.js 24/)
  })

  it.skipIf(!hasVagrant)('passes vagrant validate', () => {
    const r = spawnSync('vagrant', ['validate', '--ignore-provider'], {cwd: ROOT, encoding: 'utf8'}) // no VirtualBox here: check the file, not a provider
    expect(r.stdout + r.stderr).toMatch(/validated successfully/i)
    expect(r.status).toBe(0)
  })
})
