// The Perl helpers and netlab check that they speak the same version of their protocol
// (docs/runner-protocol.md). A helper refuses another version with one line on stderr.

/**
 * A Perl helper's refusal to talk to this netlab: each helper checks the protocol version its
 * caller names (docs/runner-protocol.md) and, on a mismatch, prints this one line and exits 2:
 * "/…/assets/netlab-probe.pl speaks protocol 1, netlab expects 2: reinstall netlab". The line, or
 * undefined when `stderr` holds none.
 */
export function protocolRefusal(stderr: string): string | undefined {
  return /^.+ speaks protocol \S+, netlab expects .*: reinstall netlab$/m.exec(stderr)?.[0]
}
