// The pure parts of exec, shell and capture: where netlab's arguments end and the command's
// begin, the tcpdump command line, the shell's prompt.
import {describe, expect, it} from 'vitest'
import {splitCommand} from '../../src/cli/argv.js'
import {shellPrompt, tcpdumpArgs} from '../../src/lab/enter.js'
import type {LabMember} from '../../src/lab/member.js'

describe('netlab exec: splitting its own arguments from the command', () => {
  const split = (line: string) => splitCommand(line.split(' ').filter(Boolean), ['--lab'])

  it('the command starts after NAME, with or without --', () => {
    expect(split('node-0 -- ip route')).toEqual({own: ['node-0'], command: ['ip', 'route']})
    expect(split('node-0 ip -br link')).toEqual({own: ['node-0'], command: ['ip', '-br', 'link']})
  })

  it("netlab's flags before NAME, or anywhere before an explicit --", () => {
    expect(split('--lab big node-0 ping -c 1 10.0.0.1')).toEqual({
      own: ['--lab', 'big', 'node-0'],
      command: ['ping', '-c', '1', '10.0.0.1'],
    })
    expect(split('--lab=big node-0 -- true')).toEqual({own: ['--lab=big', 'node-0'], command: ['true']})
    expect(split('node-0 --lab big -- ip r')).toEqual({own: ['node-0', '--lab', 'big'], command: ['ip', 'r']})
  })

  it('a -- inside the command belongs to the command; no NAME or no command is left for the parser to report', () => {
    expect(split('node-0 -- sh -c x -- y')).toEqual({own: ['node-0'], command: ['sh', '-c', 'x', '--', 'y']})
    expect(split('--help')).toEqual({own: ['--help'], command: []})
    expect(split('node-0')).toEqual({own: ['node-0'], command: []})
  })
})

const target = (kind: string, name: string): LabMember => ({
  lab: 'lab',
  member: {kind, name, netns: `netlab-lab.${name}`, ips: [], role: ''},
})

describe('netlab capture: the tcpdump command', () => {
  it('eth0 by default (br0 in the fabric), never resolves names, line-buffered', () => {
    expect(tcpdumpArgs(target('pod', 'web-0'), {})).toEqual(['tcpdump', '-i', 'eth0', '-n', '-l'])
    expect(tcpdumpArgs(target('fabric', 'fabric'), {})).toEqual(['tcpdump', '-i', 'br0', '-n', '-l'])
    expect(tcpdumpArgs(target('node', 'node-0'), {iface: 'cni0', count: 2, extra: ['-e', 'icmp']})).toEqual([
      'tcpdump',
      '-i',
      'cni0',
      '-n',
      '-c',
      '2',
      '-l',
      '-e',
      'icmp',
    ])
  })

  it('-w: the pcap comes out on stdout (netlab writes the file), flushed per packet', () => {
    expect(tcpdumpArgs(target('node', 'node-0'), {write: 'x.pcap', count: 5})).toEqual([
      'tcpdump',
      '-i',
      'eth0',
      '-n',
      '-c',
      '5',
      '-U',
      '-w',
      '-',
    ])
  })
})

describe('netlab shell: the prompt names the lab and the member', () => {
  it('[lab/member] # ', () => {
    expect(shellPrompt(target('node', 'node-0'))).toBe('[lab/node-0] # ')
  })
})
