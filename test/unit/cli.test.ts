// The CLI as a shell user meets it: help with a one-line summary and examples for every command,
// "did you mean", JSON errors under --json, every problem of a topology from validate --json,
// plain output without a terminal or with NO_COLOR, completion, and how its hints name it.
// Pure functions are tested directly; the few child processes (bin/run.js, no root needed) check
// what only a real run shows. Wall time: about six runs of the CLI.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {describeError, wantsJson} from '../../src/cli/base.js'
import {complete, completionScript, FILES, type CompletionSources} from '../../src/cli/complete.js'
import {signalExitCode} from '../../src/core/errors.js'
import {plural} from '../../src/core/plural.js'
import type {Plan} from '../../src/core/actions.js'
import {renderText} from '../../src/plan/render.js'
import {invocationOf} from '../../src/core/invocation.js'
import {distance, notFoundMessage, suggest} from '../../src/cli/not-found.js'
import {COMMANDS} from '../../src/commands/index.js'
import {handmadeProblem} from '../../src/lab/handmade.js'
import {buildModel} from '../../src/compile/model.js'
import {allErrors, TopologyError, TopologyErrors} from '../../src/topology/errors.js'
import {parseTopology} from '../../src/topology/parse.js'
import {BIN, cliEnv, ROOT} from '../helpers/constants.js'

/** bin/run.js as a child: no terminal (pipes), so no colours or spinners are wanted */
function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {cwd: ROOT, env: cliEnv(env), encoding: 'utf8', timeout: 60_000})
  return {code: r.status, stdout: r.stdout, stderr: r.stderr}
}

describe('start-up', () => {
  it("loads the bundle with V8's code cache that the build made (compiling the bundle was a third of the start-up)", () => {
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(join(ROOT, 'dist', 'netlab.mjs'))}); console.log(m.codeCache, typeof m.main, Object.keys(m.COMMANDS).length)`,
      ],
      {encoding: 'utf8', timeout: 60_000},
    )
    expect(r.stderr).toBe('')
    const [cache, main, commands] = r.stdout.trim().split(' ')
    expect(cache).toBe('used')
    expect(main).toBe('function')
    expect(Number(commands)).toBe(Object.keys(COMMANDS).length)
  })
})

// eslint-disable-next-line no-control-regex -- an escape sequence is what it looks for
const ESCAPE = /\u001b\[/

/** five independent problems: the lab name, a pod, a node's key, a node's pods, an external host */
const MANY_ERRORS = [
  'name: Bad_Name',
  'nodes:',
  '  - name: n0',
  '    pods: [ok, "Bad Pod"]',
  '  - name: n1',
  '    bogus: 1',
  '  - {name: n2, pods: -1}',
  'external:',
  '  - {name: x, vpc: maybe}',
  '',
].join('\n')

describe('help', () => {
  const visible = Object.entries(COMMANDS).filter(([, c]) => !c.hidden)

  it('every command has a one-line summary and at least one example; descriptions add to the summary, never repeat it', () => {
    for (const [id, c] of visible) {
      expect(c.summary, id).toMatch(/^[A-Z].{10,70}\.$/)
      expect(c.examples?.length, id).toBeGreaterThan(0)
      if (c.description) expect(c.description.startsWith(c.summary!.slice(0, -1)), id).toBe(false)
    }
  })

  it('netlab --help lists each command by its summary, with no escape codes when not on a terminal', () => {
    const r = run(['--help'], {NO_COLOR: '1'})
    expect(r.code).toBe(0)
    expect(r.stdout).not.toMatch(ESCAPE)
    for (const [id, c] of visible) {
      const [topic] = id.split(':')
      if (topic === id) expect(r.stdout).toMatch(new RegExp(`^  ${id} +${c.summary!.replace(/[.()]/g, '\\$&')}$`, 'm'))
    }
    expect(r.stdout).not.toContain(
      Object.values(COMMANDS)
        .find((c) => c.description)!
        .description!.slice(0, 60),
    )
  })

  it('netlab help COMMAND and -h print the summary once, then the description and examples; --version prints the version', () => {
    const help = run(['help', 'validate'])
    const h = run(['validate', '-h'])
    expect(help.code).toBe(0)
    expect(h.stdout).toBe(help.stdout)
    expect(help.stdout.split(COMMANDS.validate.summary!).length - 1).toBe(1)
    expect(help.stdout).toContain('EXAMPLES\n  $ netlab validate')
    expect(help.stdout).toContain('DESCRIPTION\n  Parse the file')
    const v = run(['--version'])
    expect(v.stdout).toMatch(/^netlab\/0\.1\.0 /)
  })
})

describe('did you mean', () => {
  const ids = Object.keys(COMMANDS).filter((id) => !COMMANDS[id as keyof typeof COMMANDS].hidden)

  it('suggests the commands one slip away (or that a start with one slip begins), and nothing for a stranger', () => {
    expect(distance('hlep', 'help')).toBe(1) // a swap of neighbours is one slip
    expect(distance('kitten', 'sitting')).toBe(3)
    expect(suggest('hlep', ids)).toEqual(['help'])
    expect(suggest('stauts', ids)).toEqual(['status'])
    expect(suggest('vald', ids)).toEqual(['validate'])
    expect(suggest('dwon', ids)).toEqual(['down'])
    expect(suggest('policy:aply', ids)).toEqual(['policy:apply'])
    expect(suggest('xyzzy', ids)).toEqual([])
    expect(notFoundMessage('netlab', 'policy:aply', ids)).toBe(
      '"policy aply" is not a netlab command. Did you mean "netlab policy apply"? See "netlab help" for the list.',
    )
  })

  it('suggests with the arguments that were typed, for a command, a subcommand and a mistyped topic (issue 22, 14)', () => {
    const says = (id: string, argv: string[] = []) => notFoundMessage('netlab', id, ids, argv)
    expect(says('stauts:uc3')).toBe('"stauts" is not a netlab command. Did you mean "netlab status uc3"? See "netlab help" for the list.')
    expect(says('prbe:uc3', ['--only', 'policy'])).toContain('Did you mean "netlab probe uc3 --only policy"?')
    expect(says('policy:aply:LAB:x')).toBe(
      '"policy aply" is not a netlab command. Did you mean "netlab policy apply LAB x"? See "netlab help" for the list.',
    )
    expect(says('polcy:aply:LAB:x')).toContain('Did you mean "netlab policy apply LAB x"?')
    expect(says('policy:LAB:x')).toContain('Did you mean "netlab policy apply LAB x"?') // LAB is an argument
    expect(says('stauts:my lab')).toContain(`Did you mean "netlab status 'my lab'"?`) // pasted as typed
    expect(says('xyzzy:uc3')).toBe('"xyzzy" is not a netlab command. See "netlab help" for the list.')
  })

  it('a mistyped command: exit 2 and one line on stderr; with --json, the JSON error on stdout', () => {
    const r = run(['stauts'])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      'netlab: "stauts" is not a netlab command. Did you mean "node bin/run.js status"? See "node bin/run.js help" for the list.\n',
    )
    const args = run(['policy', 'aply', 'LAB', 'x.yaml', '--json'])
    expect(args.code).toBe(2)
    expect(JSON.parse(args.stdout).error.message).toContain('Did you mean "node bin/run.js policy apply LAB x.yaml --json"?')
    const j = run(['stauts', '--json'])
    expect(j.code).toBe(2)
    expect(JSON.parse(j.stdout)).toEqual({error: {message: expect.stringContaining('Did you mean'), exitCode: 2, kind: 'usage'}})
  })
})

describe('counts (issue 22, 21)', () => {
  it('say "1 node", "2 nodes", "0 external hosts": never "1 nodes" or "host(s)"', () => {
    expect([plural(1, 'node'), plural(2, 'node'), plural(0, 'batch', 'batches')]).toEqual(['1 node', '2 nodes', '0 batches'])
    const dir = mkdtempSync(join(tmpdir(), 'netlab-counts-'))
    const file = join(dir, 'one.yaml')
    writeFileSync(file, 'name: one\nnodes:\n  - {name: n0, pods: 1}\n')
    const r = run(['validate', file])
    rmSync(dir, {recursive: true})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^.*: valid — lab one, 1 node, 1 pod, 0 external hosts, \d+ actions\n$/)
    const one = {lab: 'x', phases: [{id: 'p', title: 'P', why: 'w'}], actions: [{id: 0, phase: 'p', tool: 'ip', args: ['link'], why: 'w'}]}
    expect(renderText(one as unknown as Plan).split('\n')[0]).toBe('Plan for lab "x": 1 action in 1 phase. Nothing has been run.')
  })
})

describe('errors', () => {
  it('a topology keeps being checked after a bad node, pod, external host or lab name: every problem, in file order', () => {
    let error: unknown
    try {
      parseTopology(MANY_ERRORS, 'many.yaml')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(TopologyErrors)
    const all = allErrors(error as TopologyError)
    expect(all.map((e) => `${e.pos.line}:${e.pos.col}`)).toEqual(['1:7', '4:16', '6:5', '7:22', '9:20'])
    expect((error as Error).message).toBe(all[0].message) // read as one error, it is the first
    // one problem stays a plain TopologyError, as before
    expect(() => parseTopology('name: ok\nnodes: [{name: n0, bogus: 1}]\n', 'one.yaml')).toThrow(
      expect.objectContaining({name: 'TopologyError'}),
    )
  })

  it('the model checks (addresses, duplicates) still stop at the first problem', () => {
    const dup = parseTopology('name: ok\nnodes: [{name: n0, pods: [a]}, {name: n1, pods: [a]}]\n', 'dup.yaml')
    expect(() => buildModel(dup)).toThrow(/duplicate name "a"/)
  })

  it('JSON errors: message, exit code, kind; a topology error lists its problems with file, line and column', () => {
    const {json, text} = describeError(
      new TopologyErrors([
        new TopologyError({file: 'f', line: 2, col: 3}, 'bad'),
        new TopologyError({file: 'f', line: 5, col: 1}, 'worse'),
      ]),
    )
    expect(json).toEqual({
      error: {
        message: 'f:2:3: bad',
        exitCode: 2,
        kind: 'usage',
        problems: [
          {file: 'f', line: 2, column: 3, message: 'bad'},
          {file: 'f', line: 5, column: 1, message: 'worse'},
        ],
      },
    })
    expect(text).toMatch(/^f:2:3: bad \(and 1 more problem in the file: .* validate --json lists every one\)$/)
    expect(signalExitCode('SIGINT')).toBe(130)
    expect(signalExitCode('SIGTERM')).toBe(143)
    expect(wantsJson(['node-0', '--', 'ip', '--json'])).toBe(false) // a member's command's own flag
    expect(wantsJson(['--json', 'x'])).toBe(true)
  })

  it('validate --json: every problem of the file as JSON on stdout, exit 2; without --json, one line on stderr', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netlab-cli-'))
    const file = join(dir, 'many.yaml')
    writeFileSync(file, MANY_ERRORS)
    const r = run(['validate', file, '--json'])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('')
    const {error} = JSON.parse(r.stdout) as {error: {exitCode: number; problems: {file: string; line: number; column: number}[]}}
    expect(error.exitCode).toBe(2)
    expect(error.problems.map((p) => [p.file, p.line])).toEqual([1, 4, 6, 7, 9].map((line) => [file, line]))
    const plain = run(['validate', file])
    expect(plain.code).toBe(2)
    expect(plain.stdout).toBe('')
    expect(plain.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(plain.stderr.startsWith(`${file}:1:7: `)).toBe(true)
    // an unknown flag is a usage error in JSON too
    const flag = run(['plan', '--bogus', '--json'])
    expect(flag.code).toBe(2)
    expect(JSON.parse(flag.stdout).error).toEqual({message: expect.stringContaining('--bogus'), exitCode: 2, kind: 'usage'})
  })
})

describe('completion', () => {
  const src: CompletionSources = {
    commands: [
      {id: 'exec', flags: [{name: 'lab', value: true}]},
      {
        id: 'probe',
        flags: [
          {name: 'json', value: false},
          {name: 'only', value: true, options: ['pod-pod', 'no-nat']},
          {name: 'topology', char: 't', value: true},
        ],
      },
      {id: 'policy:apply', flags: [{name: 'dry-run', value: false}]},
      {id: 'up', flags: [{name: 'quiet', char: 'q', value: false}]},
      {id: 'pod:add', flags: [{name: 'lab', value: true}]},
      {id: 'pod:delete', flags: [{name: 'lab', value: true}]},
      {id: 'node:add', flags: [{name: 'pods', value: true}]},
      {id: 'topology', flags: [{name: 'json', value: false}]},
    ],
    labs: () => ['alpha', 'beta'],
    members: (lab) => (lab === 'beta' ? ['b-node', 'b-pod'] : ['node-0', 'web-0']),
    topologies: () => ['three-node', 'fifty-node'],
  }

  it('completes commands, topics, flags, flag options, labs, members and topologies', () => {
    expect(complete(['p'], src)).toEqual(['pod', 'policy', 'probe'])
    expect(complete(['policy', ''], src)).toEqual(['apply'])
    expect(complete(['policy', 'apply', ''], src)).toEqual(['alpha', 'beta', FILES]) // [LAB] FILE
    expect(complete(['probe', '--'], src)).toEqual(['--json', '--only', '--topology'])
    expect(complete(['probe', '--only', 'n'], src)).toEqual(['no-nat'])
    expect(complete(['probe', ''], src)).toEqual(['alpha', 'beta'])
    expect(complete(['probe', '-t', 'th'], src)).toEqual(['three-node', FILES])
    expect(complete(['up', '-q', ''], src)).toEqual(['three-node', 'fifty-node', FILES])
    expect(complete(['exec', 'w'], src)).toEqual(['web-0'])
    expect(complete(['exec', '--lab', 'beta', ''], src)).toEqual(['b-node', 'b-pod'])
    expect(complete(['exec', '--lab', ''], src)).toEqual(['alpha', 'beta'])
    expect(complete(['exec', 'web-0', '--', ''], src)).toEqual([FILES]) // the member's command
    expect(complete(['nosuch', ''], src)).toEqual([])
    // the shortcuts: members to put a pod on or to delete; a new name is the user's to make up
    expect(complete(['pod', ''], src)).toEqual(['add', 'delete'])
    expect(complete(['pod', 'add', '--lab', 'beta', ''], src)).toEqual(['b-node', 'b-pod'])
    expect(complete(['pod', 'add', 'node-0', ''], src)).toEqual([])
    expect(complete(['pod', 'delete', 'w'], src)).toEqual(['web-0'])
    expect(complete(['node', 'add', ''], src)).toEqual([])
    expect(complete(['topology', ''], src)).toEqual(['alpha', 'beta'])
  })

  it('the bash and zsh scripts call netlab __complete with the words so far, and fall back to file names', () => {
    const bash = completionScript('bash', 'netlab')
    expect(bash).toContain('netlab __complete "${COMP_WORDS[@]:1:COMP_CWORD}"')
    expect(bash).toContain('complete -F _netlab netlab')
    expect(bash).toContain(`"${FILES}"`)
    const zsh = completionScript('zsh', "node '/opt/my netlab/bin/run.js'")
    expect(zsh.split('\n')[0]).toBe('#compdef netlab')
    expect(zsh).toContain(`node '/opt/my netlab/bin/run.js' __complete "\${(@)words[2,CURRENT]}"`)
    const r = spawnSync('bash', ['-n'], {input: bash}) // it parses
    expect(r.status).toBe(0)
  })

  // zsh: scripts/setup.sh installs it (Debian's zsh) for this test
  it.skipIf(spawnSync('zsh', ['--version']).status !== 0)(
    'the zsh script, run by zsh: the candidates netlab gives, _files where it says files, and no empty candidate when it has none',
    () => {
      // _netlab called as the completion system calls it, with compadd and _files standing in to say what they got
      const harness = [
        'compdef() { : }',
        "_files() { print -r -- '<files>' }",
        'compadd() { [[ $1 == -a ]] && for x in "${(@P)2}"; do print -r -- "[$x]"; done }',
        `source <(${process.execPath} ${BIN} autocomplete zsh)`,
        'words=(netlab stat); CURRENT=2; print -r -- --; _netlab',
        'words=(netlab up three-node-v); CURRENT=3; print -r -- --; _netlab',
        'words=(netlab validate zzzz); CURRENT=3; print -r -- --; _netlab',
        "words=(netlab zzzz ''); CURRENT=3; print -r -- --; _netlab",
      ].join('\n')
      const r = spawnSync('zsh', ['-f', '-c', harness], {cwd: ROOT, env: cliEnv({NETLAB_STATE_DIR: '/nonexistent'}), encoding: 'utf8'})
      expect(r.stderr).toBe('')
      expect(r.stdout.split('--\n').slice(1)).toEqual([
        '[status]\n',
        '<files>\n[three-node-vxlan]\n', // a topology by name, or a file
        '<files>\n',
        '', // netlab has nothing to offer: nothing, not an empty word
      ])
      expect(spawnSync('zsh', ['-n'], {input: completionScript('zsh', 'netlab')}).status).toBe(0) // and it parses
    },
  )
})

describe('how netlab names itself in its hints', () => {
  it('netlab when installed; node bin/run.js from a checkout, relative when below the cwd', () => {
    expect(invocationOf('/usr/local/bin/netlab', '/home/me')).toBe('netlab')
    expect(invocationOf('/src/netlab/bin/run.js', '/src/netlab')).toBe('node bin/run.js')
    expect(invocationOf('/src/netlab/bin/run.js', '/tmp')).toBe('node /src/netlab/bin/run.js')
    expect(invocationOf('/src/net lab/bin/run.js', '/src/net lab', {absolute: true})).toBe("node '/src/net lab/bin/run.js'")
    expect(invocationOf(undefined, '/')).toBe('netlab')
  })
})

describe('a lab built by hand', () => {
  const expected = ['netlab-l.fabric', 'netlab-l.n0', 'netlab-l.p0']
  const marks = (m: string | undefined) => new Map(expected.map((ns) => [ns, m]))

  it('is probed only when every namespace exists and carries the mark', () => {
    expect(handmadeProblem('l', 'l.yaml', expected, new Set(expected), marks('netlab:l'), 'netlab:l')).toBeUndefined()
    expect(handmadeProblem('l', 'l.yaml', expected, new Set(), marks(undefined), 'netlab:l')).toMatch(
      /^lab l is not built: none of its 3 namespaces exist \(build it with: .* plan l\.yaml --format sh > lab\.sh && bash lab\.sh\)$/,
    )
    expect(handmadeProblem('l', 'l.yaml', expected, new Set(expected.slice(0, 2)), marks('netlab:l'), 'netlab:l')).toMatch(
      /^lab l is incomplete: 1 of its 3 namespaces are missing \(netlab-l\.p0\)/,
    )
    expect(handmadeProblem('l', 'l.yaml', expected, new Set(expected), marks('netlab:l@/tmp/other'), 'netlab:l')).toMatch(
      /^3 namespaces of lab l do not carry its mark "netlab:l"/,
    )
  })
})
