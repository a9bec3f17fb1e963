// ESLint for the TypeScript sources, tests and benchmark (formatting is Prettier's job).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {ignores: ['dist/**', 'node_modules/**', 'test/fixtures/**', 'docs/**']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // the model is plain data with optional fields that a check earlier has guaranteed
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
      // one import line per module (the file moves of the layering left some split in two)
      'no-duplicate-imports': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      // A function of more than 120 lines of code is a file's worth of steps: split it into them.
      // Counted from its first line to its last, nested functions included; blank lines and lines
      // that are only a comment are not counted (a line of code with a comment after it is).
      'max-lines-per-function': ['error', {max: 120, skipBlankLines: true, skipComments: true}],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {globals: {process: 'readonly', console: 'readonly'}},
  },
  {
    files: ['**/*.cjs'],
    languageOptions: {sourceType: 'commonjs', globals: {module: 'writable', require: 'readonly'}},
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // tests read kernel JSON (ip -j) whose shape varies by object
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
)
