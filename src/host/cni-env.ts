// Where the CNI plugins are on this machine: asked once when a lab is loaded, so the model and
// the plan stay pure.
import {existsSync, statSync} from 'node:fs'
import {join, sep} from 'node:path'
import {packageRoot} from '../core/paths.js'
import type {CniEnv} from '../model/types.js'

/** Debian's containernetworking-plugins installs here; the upstream tarball's convention is /opt/cni/bin. */
const DISTRO_BIN_DIR = '/usr/lib/cni'
const UPSTREAM_BIN_DIR = '/opt/cni/bin'

export function cniEnvironment(): CniEnv {
  return {
    binDir: existsSync(join(DISTRO_BIN_DIR, 'loopback')) ? DISTRO_BIN_DIR : UPSTREAM_BIN_DIR,
    netlabDir: join(packageRoot(), 'bin'),
    bashDir: join(packageRoot(), 'examples', 'bash-cni'),
  }
}

/**
 * Who may own a plugin file or directory netlab runs as root (src/core/trust.ts): root, and for
 * netlab's own plugins (in its package) whoever owns the package too, so a checkout run with
 * sudo works; they can change netlab itself, so trusting them for its plugin adds nothing.
 */
export function pluginOwners(path: string): number[] {
  const root = packageRoot()
  if (path !== root && !path.startsWith(root + sep)) return [0]
  const owner = statSync(root).uid
  return owner === 0 ? [0] : [0, owner]
}
