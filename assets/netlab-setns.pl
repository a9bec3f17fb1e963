# Shared by netlab's Perl helpers: enter a network namespace with setns(2), which Node.js
# cannot call. The syscall number comes from a table (fast: no header files to load), and from
# the system's syscall.ph (package perl) only on other architectures.
use strict;
use warnings;
use Config;

use constant NETLAB_CLONE_NEWNET => 0x40000000;

my %SETNS = (x86_64 => 308, aarch64 => 268, riscv64 => 268, arm => 375, i386 => 346, i686 => 346, powerpc64le => 350, s390x => 339);
# the architecture (x86_64, aarch64, …), for the other syscall numbers a helper needs
our ($NETLAB_ARCH) = split /-/, $Config{archname};
my $arch = $NETLAB_ARCH;
our $NETLAB_SYS_SETNS = $SETNS{$arch} // eval { require 'syscall.ph'; &main::SYS_setns() }
  // die "netlab: no setns syscall number known for $arch (install the perl package for syscall.ph)\n";

# Enter the network namespace open on filehandle FH; true on success ($! says why not).
sub netlab_setns {
  my ($fh) = @_;
  return syscall($NETLAB_SYS_SETNS, fileno($fh), NETLAB_CLONE_NEWNET) == 0;
}

1;
