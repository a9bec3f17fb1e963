#!/usr/bin/perl
# netlab-nsexec: run many small jobs, each inside one network namespace, a few at a time.
#
# Why this exists: Node.js cannot call setns(2), and starting one `ip -n NS` per namespace
# costs a mount-namespace copy each time (it grows with the number of namespaces). Here a
# forked child enters the namespace with setns(2), writes sysctls directly, and execs the
# job's commands (`ip -batch FILE`, `iptables-restore --noflush FILE`) already inside it.
#
# Usage: netlab-nsexec.pl PARALLEL ERRDIR < jobs
#   job line: ID <TAB> NETNS <TAB> STEP [<TAB> STEP ...]
#   step:     ip:FILE | iptables:FILE | sysctl:KEY=VALUE
# Output, one line per event (short lines: atomic on a pipe):
#   start ID            the job's child was forked
#   ok ID               every step succeeded
#   fail ID STEP CODE   step number STEP (from 0) failed with exit CODE; its stderr is in ERRDIR/ID.STEP.err
# SIGTERM/SIGINT/SIGUSR1: start no new job, let running ones finish.
use strict;
use warnings;
use POSIX ();

use constant CLONE_NEWNET => 0x40000000;
my %SETNS = (x86_64 => 308, aarch64 => 268, riscv64 => 268, armv7l => 375, armv6l => 375, i686 => 346, i386 => 346, ppc64le => 350, s390x => 339);
my $SYS_setns = eval { require 'syscall.ph'; &SYS_setns() } // $SETNS{(POSIX::uname())[4]}
  // die "netlab-nsexec: no setns syscall number for this architecture\n";

my ($parallel, $errdir) = @ARGV;
die "usage: netlab-nsexec.pl PARALLEL ERRDIR < jobs\n" unless $parallel && $parallel =~ /^\d+$/ && $errdir && -d $errdir;
$| = 1;

my $stop = 0;
$SIG{$_} = sub { $stop = 1 } for qw(TERM INT USR1);

sub fail_step {
  my ($id, $step, $code, $msg) = @_;
  if (defined $msg && open(my $e, '>', "$errdir/$id.$step.err")) {
    print $e $msg;
    close $e;
  }
  print "fail $id $step $code\n";
  POSIX::_exit(0);
}

sub run_job {
  my ($id, $netns, @steps) = @_;
  $SIG{$_} = 'DEFAULT' for qw(TERM INT USR1);
  open(my $ns, '<', "/run/netns/$netns") or fail_step($id, 0, 1, "cannot open namespace $netns: $!\n");
  syscall($SYS_setns, fileno($ns), CLONE_NEWNET) == 0 or fail_step($id, 0, 1, "setns($netns): $!\n");
  for my $i (0 .. $#steps) {
    my ($kind, $arg) = split /:/, $steps[$i], 2;
    if ($kind eq 'sysctl') {
      my ($key, $value) = split /=/, $arg, 2;
      my $path = '/proc/sys/' . join('/', split /\./, $key);
      open(my $s, '>', $path) or fail_step($id, $i, 1, "sysctl: cannot stat $path: $!\n");
      print $s $value;
      close($s) or fail_step($id, $i, 1, "sysctl: setting $key: $!\n");
      next;
    }
    my @cmd = $kind eq 'ip' ? ('ip', '-batch', $arg) : $kind eq 'iptables' ? ('iptables-restore', '--noflush', $arg) : fail_step($id, $i, 2, "unknown step kind $kind\n");
    my $pid = fork() // fail_step($id, $i, 1, "fork: $!\n");
    if ($pid == 0) {
      open(STDIN, '<', '/dev/null');
      open(STDOUT, '>', '/dev/null');
      open(STDERR, '>', "$errdir/$id.$i.err");
      exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }
    waitpid($pid, 0);
    my $code = $? & 127 ? 128 + ($? & 127) : $? >> 8;
    fail_step($id, $i, $code) if $code != 0;
  }
  print "ok $id\n";
  POSIX::_exit(0);
}

my $running = 0;
while (my $line = <STDIN>) {
  chomp $line;
  next if $line eq '';
  my ($id, $netns, @steps) = split /\t/, $line;
  while ($running >= $parallel) {
    my $pid = wait();
    $running = $pid > 0 ? $running - 1 : 0;
  }
  last if $stop;
  my $pid = fork();
  die "netlab-nsexec: fork: $!\n" unless defined $pid;
  run_job($id, $netns, @steps) if $pid == 0;
  print "start $id\n";
  $running++;
}
1 while wait() > 0;
exit 0;
