# Shared by netlab's Perl helpers: enter a network namespace with setns(2), which Node.js
# cannot call; netlab_enter() enters a lab namespace by name, never the host's own. The syscall number comes from a table (fast: no header files to load), and from
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

my $home;
my $home_id;
my %nsfh;

# Enter a lab namespace by its name under /run/netns; never one that is the host's own (a name
# bound to it with `ip netns attach` would be): false, with $! set, if not.
sub netlab_enter {
  my ($netns) = @_;
  if (!$home) {
    open($home, '<', '/proc/self/ns/net') or return 0;
    $home_id = join(':', (stat $home)[0, 1]);
  }
  my $fh = $nsfh{$netns} //= do { open(my $f, '<', "/run/netns/$netns") or return 0; $f };
  if (join(':', (stat $fh)[0, 1]) eq $home_id) { $! = 1; delete $nsfh{$netns}; return 0 }    # EPERM
  return netlab_setns($fh);
}

# Back to the namespace the process started in: false ($! says why) when it cannot, and then
# nothing may run (the caller stops).
sub netlab_go_home {
  return !$home || netlab_setns($home);
}

# Close the handles of namespaces not needed any more (all, without arguments).
sub netlab_forget_netns {
  if (@_) { delete @nsfh{@_} } else { %nsfh = () }
}

1;
