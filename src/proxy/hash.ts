// The hashed names kube-proxy gives its chains: the first characters of base32(sha256(name)),
// as pkg/proxy/iptables (KUBE-SVC-…: 16 characters) and pkg/proxy/nftables (service-HASH-…: 8)
// compute them, so a lab node's rules read like a real node's. Pure.
import {createHash} from 'node:crypto'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** RFC 4648 base32 with padding, as Go's base32.StdEncoding writes it. */
function base32(bytes: Uint8Array): string {
  let out = ''
  let [bits, value] = [0, 0]
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xffff
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31]
  return out.padEnd(Math.ceil(out.length / 8) * 8, '=')
}

/** The first `length` characters of base32(sha256(name)). */
export function kubeHash(name: string, length: number): string {
  return base32(createHash('sha256').update(name).digest()).slice(0, length)
}
