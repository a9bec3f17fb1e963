// Where the CNI plugins are on this machine: asked once when a lab is loaded, so the model and
// the plan stay pure.
import {existsSync} from 'node:fs'
import {join} from 'node:path'
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
