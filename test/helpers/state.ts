// A state directory for library calls in unit tests: they read NETLAB_STATE_DIR as the CLI does.

/** Run f with NETLAB_STATE_DIR set to dir, and put it back after (after its promise settles, for an async f). */
export function withStateDir<T>(dir: string, f: () => T): T {
  const saved = process.env.NETLAB_STATE_DIR
  const restore = () => {
    if (saved === undefined) delete process.env.NETLAB_STATE_DIR
    else process.env.NETLAB_STATE_DIR = saved
  }
  process.env.NETLAB_STATE_DIR = dir
  let result: T
  try {
    result = f()
  } catch (error) {
    restore()
    throw error
  }
  if (result instanceof Promise) return result.finally(restore) as T
  restore()
  return result
}
