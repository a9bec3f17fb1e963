import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Two files at a time: most of an integration test's time is waiting (for the kernel, for a
    // faulted probe's lost packets), so two keep both cores busy. Each file has its own labs and
    // state directory and checks only what is its own; timings are the benches' business (bench/).
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
})
