// The probe's client programs — fping, curl and ip — as argument lists and output parsers. Pure:
// nothing here runs anything. One fping and one curl per source namespace cover all its targets.
import type {Observation} from './types.js'

export interface Timing {
  /** fping: initial per-target timeout, ms */
  pingTimeoutMs: number
  /** fping: retries after the first packet */
  pingRetries: number
  /** curl: connect timeout, s */
  connectTimeoutS: number
  /** curl: whole-transfer timeout, s */
  maxTimeS: number
}

/** For probes that must be answered: generous enough never to fail a loaded but working lab. */
export const ANSWERED: Timing = {pingTimeoutMs: 500, pingRetries: 1, connectTimeoutS: 2, maxTimeS: 5}
/** For probes that must go unanswered: a reply in a lab on one machine takes well under a millisecond. */
export const SILENT: Timing = {pingTimeoutMs: 250, pingRetries: 0, connectTimeoutS: 0.5, maxTimeS: 1}

export function fpingArgs(targets: string[], t: Timing): string[] {
  // -i 0: no pause between targets (root may); -B 1: no backoff, so a failure costs (1+r)·t
  return ['-i', '0', '-B', '1', '-t', String(t.pingTimeoutMs), '-r', String(t.pingRetries), '-e', ...targets]
}

/**
 * fping's answers, by target address. stdout has one line per target ("A is alive (0.1 ms)",
 * "A is unreachable"); stderr has ICMP errors ("ICMP Host Unreachable from G for ICMP Echo sent
 * to A"), kept as the reason a target is unreachable.
 */
export function parseFping(stdout: string, stderr: string): Map<string, Observation> {
  const why = new Map<string, string>()
  for (const line of stderr.split('\n')) {
    const icmp = /^(ICMP .+?) from (\S+) for ICMP Echo sent to (\S+)/.exec(line.trim())
    if (icmp && !why.has(icmp[3])) why.set(icmp[3], `${icmp[1]} from ${icmp[2]}`)
    const send = /^(\S+): error while sending ping: (.+)$/.exec(line.trim())
    if (send && !why.has(send[1])) why.set(send[1], `cannot send: ${send[2]}`)
  }
  const out = new Map<string, Observation>()
  for (const line of stdout.split('\n')) {
    const m = /^(\S+) is (alive|unreachable)\b(?: \((.+)\))?/.exec(line.trim())
    if (!m) continue
    if (m[2] === 'alive') out.set(m[1], {reply: true, detail: m[3]})
    else out.set(m[1], {reply: false, detail: why.get(m[1]) ?? 'no reply (timeout)'})
  }
  return out
}

/** Fields curl writes per transfer, tab-separated, one line each (curl >= 7.84 for %header{}). */
export const CURL_FORMAT =
  [
    '%{url}',
    '%{http_code}',
    '%{local_ip}',
    '%header{x-netlab-seen}',
    '%header{x-netlab-served-by}',
    '%{exitcode}',
    '%{errormsg}',
    '%{time_total}',
  ].join('\\t') + '\\n'

export function probeUrl(ip: string, port: number, id: number): string {
  return `http://${ip}:${port}/probe/${id}`
}

export function curlArgs(urls: string[], t: Timing): string[] {
  const args = [
    '-q',
    '--silent',
    '--no-progress-meter',
    '--noproxy',
    '*',
    '--parallel',
    '--parallel-max',
    '50',
    '--connect-timeout',
    String(t.connectTimeoutS),
    '--max-time',
    String(t.maxTimeS),
    '--write-out',
    CURL_FORMAT,
  ]
  for (const url of urls) args.push('--output', '/dev/null', url)
  return args
}

/** curl's --write-out lines, by probe id (from the URL path). */
export function parseCurl(stdout: string): Map<number, Observation> {
  const out = new Map<number, Observation>()
  for (const line of stdout.split('\n')) {
    const [url, code, local, seen, servedBy, exit, ...rest] = line.split('\t')
    const id = /\/probe\/(\d+)$/.exec(url ?? '')
    if (!id) continue
    // the error message, then how long it took (the last field: a message may hold a tab)
    const time = rest.length > 1 ? rest.at(-1) : undefined
    const errormsg = (rest.length > 1 ? rest.slice(0, -1) : rest).join('\t').trim()
    const ms = /^\d+(\.\d+)?$/.test(time ?? '') ? {ms: Math.round(Number(time) * 1000)} : {}
    if (code === '200' && seen) {
      out.set(Number(id[1]), {reply: true, seen: seen.trim(), local: local || undefined, servedBy: servedBy?.trim() || undefined, ...ms})
    } else {
      const detail = errormsg || (code && code !== '000' ? `HTTP ${code} without an echo` : `curl exit ${exit || '?'}`)
      out.set(Number(id[1]), {reply: false, local: local || undefined, detail: shortCurlError(detail), ...ms})
    }
  }
  return out
}

/** "Failed to connect to A port P after 1002 ms: Connection timed out" → "no reply: Connection timed out" */
function shortCurlError(msg: string): string {
  const m = /^(?:Failed to connect to .*?: |Connection timed out after \d+ milliseconds)(.*)$/.exec(msg)
  if (m) return m[1] ? `no reply: ${m[1]}` : 'no reply (timeout)'
  return msg
}

/** netlab-udp.pl's arguments: the time it waits for all answers, and each probe as ID=IP:PORT. */
export function udpArgs(targets: {id: number; ip: string; port: number}[], t: Timing): string[] {
  return [String(Math.round(t.connectTimeoutS * 1000)), ...targets.map((x) => `${x.id}=${x.ip}:${x.port}`)]
}

/** netlab-udp.pl's lines ("ID ok SEEN SERVED_BY LOCAL MS", "ID fail LOCAL MS REASON"), by probe id. */
export function parseUdp(stdout: string): Map<number, Observation> {
  const out = new Map<number, Observation>()
  for (const line of stdout.split('\n')) {
    const ok = /^(\d+) ok (\S+) (\S+) (\S+) (\d+)$/.exec(line.trim())
    if (ok) {
      out.set(Number(ok[1]), {reply: true, seen: ok[2], servedBy: ok[3], local: ok[4], ms: Number(ok[5])})
      continue
    }
    const fail = /^(\d+) fail (\S+) (\d+) (.*)$/.exec(line.trim())
    if (fail)
      out.set(Number(fail[1]), {
        reply: false,
        ...(fail[2] !== '-' ? {local: fail[2]} : {}),
        ms: Number(fail[3]),
        detail: fail[4].startsWith('no reply') ? fail[4] : `no reply: ${fail[4]}`,
      })
  }
  return out
}

export function eth0Args(): string[] {
  return ['-j', 'addr', 'show', 'dev', 'eth0']
}

/** IPv4 addresses from `ip -j addr show dev eth0`. */
export function parseEth0(json: string): string[] {
  const links = JSON.parse(json) as {addr_info?: {family?: string; local?: string}[]}[]
  return links.flatMap((l) => (l.addr_info ?? []).filter((a) => a.family === 'inet' && a.local).map((a) => a.local!))
}

/** The echo hub launcher's "addrs NETNS LABEL=IP ..." line (see assets/netlab-bind.pl). */
export function parseAddrsLine(line: string): {netns: string; addrs: {label: string; ip: string}[]} | undefined {
  const [tag, netns, ...rest] = line.trim().split(/\s+/)
  if (tag !== 'addrs' || !netns) return undefined
  const addrs = rest.flatMap((a) => {
    const m = /^(.+)=(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a)
    return m ? [{label: m[1], ip: m[2]}] : []
  })
  return {netns, addrs}
}

/** The addresses of eth0 (including labelled aliases such as eth0:1). */
export function eth0Addresses(addrs: {label: string; ip: string}[]): string[] {
  return addrs.filter((a) => a.label === 'eth0' || a.label.startsWith('eth0:')).map((a) => a.ip)
}
