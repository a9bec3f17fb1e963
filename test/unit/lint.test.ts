// The code passes its linter (ESLint with typescript-eslint) and its formatter's check
// (Prettier): `npm run lint`, run here so that the README's test command and CI run it too.
import {spawnSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {ROOT} from '../helpers/constants.js'

describe('npm run lint', () => {
  it('ESLint finds nothing and Prettier would change nothing', () => {
    const r = spawnSync('npm', ['run', '--silent', 'lint'], {cwd: ROOT, encoding: 'utf8', timeout: 240_000})
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0)
  }, 240_000)
})
