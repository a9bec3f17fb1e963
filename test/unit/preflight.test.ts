// What the Perl helpers need, read from the helpers themselves: every `use` and `require` in
// assets/*.pl is understood, so a new one is checked by preflight without anyone listing it.
// These need perl but no root.
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {perlModuleError, perlModules, perlNeeds, requirePerl} from '../../src/host/preflight.js'
import {ROOT} from '../helpers/constants.js'

const ASSETS = join(ROOT, 'assets')
const helpers = readdirSync(ASSETS)
  .filter((f) => f.endsWith('.pl'))
  .map((f) => join(ASSETS, f))

describe('the Perl helpers and the modules they need', () => {
  it('every use/require line of every helper is understood', () => {
    expect(helpers.length).toBeGreaterThanOrEqual(4)
    for (const file of helpers) expect(perlNeeds(readFileSync(file, 'utf8')).unknown, file).toEqual([])
  })

  it('finds what a plain grep finds, and follows the helpers they require', () => {
    for (const file of helpers) {
      const grep = [...readFileSync(file, 'utf8').matchAll(/^\s*use\s+([A-Za-z][\w:]*)/gm)].map((m) => m[1])
      expect([...perlModules([file]).keys()], file).toEqual(expect.arrayContaining(grep))
    }
    const all = perlModules(helpers)
    expect(all.get('IO::Poll')).toBe(join(ASSETS, 'netlab-probe.pl')) // not in Debian's perl-base
    expect(perlModules([join(ASSETS, 'netlab-nsexec.pl')]).get('Config')).toBe(join(ASSETS, 'netlab-setns.pl')) // through require
  })

  it('reads the forms Perl allows, and flags any other', () => {
    const needs = perlNeeds(
      [
        'use strict;',
        'use 5.010;',
        'use v5.36;',
        'use POSIX qw(WNOHANG _exit);',
        'use constant {',
        '  A => 1,',
        '};',
        "no warnings 'once';",
        'require Foo::Bar;',
        "require((__FILE__ =~ s{[^/]*$}{}r) . 'netlab-x.pl'); # helper",
        "my $n = eval { require 'syscall.ph'; 1 }; # optional: not counted",
        '=pod',
        'use In::Pod;',
        '=cut',
        'require $module;',
        '__END__',
        'use After::End;',
      ].join('\n'),
    )
    expect(needs.modules).toEqual(['strict', 'POSIX', 'constant', 'warnings', 'Foo::Bar'])
    expect(needs.files).toEqual(['netlab-x.pl'])
    expect(needs.unknown).toEqual(['require $module;'])
  })
})

describe('requirePerl (one perl run per process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-perl-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it('passes for the real helpers', async () => {
    await expect(requirePerl(helpers)).resolves.toMatch(/perl$/)
  })

  it('names the module, the helper and the Debian package in one line', async () => {
    const helper = join(dir, 'netlab-new.pl')
    writeFileSync(helper, 'use strict;\nuse Netlab::No::Such::Module qw(x);\n')
    const error = await requirePerl([helper]).then(
      () => undefined,
      (e: Error) => e.message,
    )
    expect(error).toBe(
      "perl cannot load Netlab::No::Such::Module, which netlab-new.pl uses: install the full perl (Debian's perl-base lacks many modules) with: sudo apt-get install -y perl",
    )
  })

  it("reads perl-base's complaint about Time::HiRes", () => {
    // what perl-base alone prints for `perl -mTime::HiRes -e1`
    const stderr =
      "Can't locate Time/HiRes.pm in @INC (you may need to install the Time::HiRes module) (@INC contains: /etc/perl /usr/local/lib/x86_64-linux-gnu/perl/5.36.0 /usr/lib/x86_64-linux-gnu/perl-base) .\nBEGIN failed--compilation aborted."
    expect(perlModuleError(stderr, perlModules(helpers))).toMatch(
      /^perl cannot load Time::HiRes, which netlab-[a-z-]+\.pl uses: .* sudo apt-get install -y perl$/,
    )
  })
})
