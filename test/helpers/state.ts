// A state directory for library calls in unit tests: they read NETLAB_STATE_DIR as the CLI does.

/** Run f with NETLAB_STATE_DIR set to dir, and put it back after. */
export function withStateDir<T>(dir: string, f: () => T): T {
  const saved = process.env.NETLAB_STATE_DIR
  process.env.NETLAB_STATE_DIR = dir
  try {
    return f()
  } finally {
    if (saved === undefined) delete process.env.NETLAB_STATE_DIR
    else process.env.NETLAB_STATE_DIR = saved
  }
}
