#!/usr/bin/perl
# netlab-jobs.pl: runs the probe's many short client programs (fping, curl, ip), each inside a
# lab's network namespace, a bounded number at once. Node's spawn() waits for each child to exec,
# which on a busy machine serialises a thousand spawns; a fork here returns at once. The child
# enters the job's namespace with setns() and execs the program from its argument list, never
# through a shell. A job whose namespace cannot be entered fails: nothing ever runs in the
# runner's own (the host's) namespace.
#
# usage:  perl netlab-jobs.pl MARKER MAX_BUSY MAX_TOTAL LEASE_MS
#         MARKER is unused here; it is on the command line so `netlab down` can recognise us.
#         At most MAX_BUSY jobs that want a CPU run at once. A probe job that has stopped
#         wanting one (its run + runqueue time, /proc/PID/schedstat, no longer grows) is waiting
#         for a timeout from an unreachable target: it stops counting and lets another start,
#         up to MAX_TOTAL jobs in all. Without schedstat, a job counts for its first LEASE_MS.
# stdin:  jobs, each "ID TIMEOUT_MS NBYTES\n" then NBYTES of NUL-terminated strings: the network
#         namespace (a name under /run/netns), then the program and its arguments
# stdout: results, each "ID CODE SIGNAL TIMEDOUT OUTLEN ERRLEN\n" then OUTLEN bytes of the job's
#         stdout and ERRLEN bytes of its stderr. CODE is -1 when the job died of SIGNAL.
# Exits once stdin is closed and every job has finished. On SIGTERM/SIGINT/SIGHUP, or when the
# process that started it is gone, it kills the jobs it started (by PID) and exits.
use strict;
use warnings;
use IO::Select;
use POSIX qw(WNOHANG _exit sigprocmask SIG_BLOCK SIG_SETMASK SIGTERM SIGINT SIGHUP SIGPIPE);
use Time::HiRes qw(time);


require((__FILE__ =~ s{[^/]*$}{}r) . 'netlab-setns.pl'); # netlab_setns()

my ($marker, $max_busy, $max_total, $lease_ms) = @ARGV;
die "usage: netlab-jobs.pl MARKER MAX_BUSY MAX_TOTAL LEASE_MS\n" unless defined $lease_ms && "$max_busy $max_total $lease_ms" =~ /^[1-9]\d* [1-9]\d* \d+$/;
my $lease = $lease_ms / 1000;

my %running;    # pid => {id, out, err, open (streams still open), status, started, busy, demand, deadline, killed}
my %stream;     # fileno => [pid, 'out'|'err', fh]
my @queue;
my $inbuf = '';
my $stdin_open = 1;
my $sel = IO::Select->new(\*STDIN);

# Kill the jobs and wait (a bounded while) until they are gone, so that whoever stops us knows,
# once we have exited, that none of our jobs is left either.
sub stop_all {
  kill 'KILL', $_ for keys %running;
  my $until = time + 3;
  while (%running && time < $until) {
    my $pid = waitpid(-1, WNOHANG);
    last if $pid < 0;    # no child left
    if ($pid > 0) { delete $running{$pid}; next }
    select(undef, undef, undef, 0.005);
  }
  _exit(1);
}
# SIGPIPE: whoever read our results is gone
$SIG{TERM} = $SIG{INT} = $SIG{HUP} = $SIG{PIPE} = \&stop_all;
# Held back from a fork until its child is in %running, so stop_all never misses one.
my $stop_signals = POSIX::SigSet->new(SIGTERM, SIGINT, SIGHUP, SIGPIPE);

sub emit {
  my ($id, $code, $signal, $timed_out, $out, $err) = @_;
  my $frame = sprintf("%d %d %d %d %d %d\n", $id, $code, $signal, $timed_out, length($out), length($err)) . $out . $err;
  while (length $frame) {
    my $n = syswrite(STDOUT, $frame);
    die "netlab-jobs: write: $!\n" unless defined $n;
    substr($frame, 0, $n) = '';
  }
}

sub start_job {
  my ($job) = @_;
  my ($or, $ow, $er, $ew);
  pipe($or, $ow) && pipe($er, $ew) or do { emit($job->{id}, 127, 0, 0, '', "netlab-jobs: pipe: $!\n"); return };
  my $unblocked = POSIX::SigSet->new;
  sigprocmask(SIG_BLOCK, $stop_signals, $unblocked);
  my $pid = fork();
  if (!defined $pid) {
    sigprocmask(SIG_SETMASK, $unblocked);
    emit($job->{id}, 127, 0, 0, '', "netlab-jobs: fork: $!\n");
    close $_ for $or, $ow, $er, $ew;
    return;
  }
  if ($pid == 0) {
    $SIG{$_} = 'DEFAULT' for qw(TERM INT HUP PIPE);
    sigprocmask(SIG_SETMASK, $unblocked);    # exec keeps the mask: the job must get them
    open(STDIN, '<', '/dev/null');
    open(STDOUT, '>&', $ow) or _exit(127);
    open(STDERR, '>&', $ew) or _exit(127);
    my $netns = $job->{netns};
    open(my $ns, '<', "/run/netns/$netns") or do { print STDERR "netlab-jobs: cannot open namespace $netns: $!\n"; _exit(126) };
    netlab_setns($ns) or do { print STDERR "netlab-jobs: cannot enter namespace $netns: $!\n"; _exit(126) };
    close($ns);
    my @argv = @{$job->{argv}};
    { no warnings 'exec'; exec { $argv[0] } @argv; }
    print STDERR "netlab-jobs: cannot run $argv[0]: $!\n";
    _exit(127);
  }
  close $ow;
  close $ew;
  my $now = time;
  $running{$pid} = {id => $job->{id}, out => '', err => '', open => 2, status => undef, started => $now, busy => 1, deadline => $now + $job->{timeout} / 1000, killed => 0};
  sigprocmask(SIG_SETMASK, $unblocked);
  for ([$or, 'out'], [$er, 'err']) {
    my ($fh, $kind) = @$_;
    $stream{fileno $fh} = [$pid, $kind, $fh];
    $sel->add($fh);
  }
}

sub parse_input {
  while ((my $nl = index($inbuf, "\n")) >= 0) {
    my $line = substr($inbuf, 0, $nl);
    die "netlab-jobs: bad job header: $line\n" unless $line =~ /^(\d+) (\d+) (\d+)$/;
    my ($id, $timeout, $n) = ($1, $2, $3);
    last if length($inbuf) < $nl + 1 + $n;
    my $args = substr($inbuf, $nl + 1, $n);
    substr($inbuf, 0, $nl + 1 + $n) = '';
    my ($netns, @argv) = split /\0/, $args, -1;
    pop @argv if @argv && $argv[-1] eq '';    # the terminator of the last argument
    if (!defined $netns || $netns !~ /^[A-Za-z0-9][A-Za-z0-9._-]*$/) { emit($id, 126, 0, 0, '', "netlab-jobs: bad namespace name\n"); next }
    if (!@argv || $argv[0] eq '') { emit($id, 127, 0, 0, '', "netlab-jobs: empty command\n"); next }
    push @queue, {id => $id, timeout => $timeout, netns => $netns, argv => \@argv};
  }
}

sub finish_done {
  for my $pid (keys %running) {
    my $r = $running{$pid};
    next unless defined $r->{status} && $r->{open} == 0;
    my $st = $r->{status};
    my ($code, $signal) = ($st & 127) ? (-1, $st & 127) : ($st >> 8, 0);
    emit($r->{id}, $code, $signal, $r->{killed} ? 1 : 0, $r->{out}, $r->{err});
    delete $running{$pid};
  }
}

my $SAMPLE = 0.03;    # seconds between looks at the jobs' CPU demand
my $last_sample = 0;

# Nanoseconds a process has spent on a CPU or waiting for one; undef when unknown.
sub demand {
  my ($pid) = @_;
  open(my $fh, '<', "/proc/$pid/schedstat") or return undef;
  my $line = <$fh>;
  close $fh;
  return undef unless defined $line && $line =~ /^(\d+) (\d+)/;
  return $1 + $2;
}

sub sample {
  my $now = time;
  return if $now - $last_sample < $SAMPLE;
  my $dt = $now - $last_sample;
  $last_sample = $now;
  for my $pid (keys %running) {
    my $r = $running{$pid};
    next if defined $r->{status};
    my $d = demand($pid);
    if (!defined $d) { $r->{busy} = $now - $r->{started} < $lease ? 1 : 0; next }
    # a job counts as busy from its start until it has been seen idle over a whole sample
    $r->{busy} = ($d - $r->{demand}) / 1e9 > 0.05 * $dt ? 1 : 0 if defined $r->{demand};
    $r->{demand} = $d;
  }
}

sub busy {
  return scalar grep { !defined $_->{status} && $_->{busy} } values %running;
}

# The process that started us (it says who it is: it may be gone before we look).
my $parent = $ENV{NETLAB_PROBE_PID} && $ENV{NETLAB_PROBE_PID} =~ /^\d+$/ ? $ENV{NETLAB_PROBE_PID} : getppid();

while ($stdin_open || @queue || %running) {
  stop_all() if getppid() != $parent;
  if (@queue) {
    sample();
    start_job(shift @queue) while @queue && keys(%running) < $max_total && busy() < $max_busy;
  }
  my $now = time;
  my $wait = @queue ? $SAMPLE : 0.25;
  for my $r (values %running) {
    my $left = $r->{deadline} - $now;
    $wait = $left if $left < $wait;
  }
  $wait = 0.001 if $wait < 0.001;
  for my $fh ($sel->can_read($wait)) {
    if (fileno($fh) == fileno(STDIN)) {
      my $n = sysread(STDIN, my $chunk, 1 << 16);
      if (!$n) { $sel->remove(\*STDIN); $stdin_open = 0; next }
      $inbuf .= $chunk;
      parse_input();
      next;
    }
    my $s = $stream{fileno $fh} or next;
    my ($pid, $kind) = @$s;
    my $n = sysread($fh, my $chunk, 1 << 16);
    if ($n) { $running{$pid}{$kind} .= $chunk; next }
    $sel->remove($fh);
    delete $stream{fileno $fh};
    close $fh;
    $running{$pid}{open}--;
  }
  while ((my $pid = waitpid(-1, WNOHANG)) > 0) {
    $running{$pid}{status} = $? if $running{$pid};
  }
  $now = time;
  for my $pid (keys %running) {
    my $r = $running{$pid};
    next if defined $r->{status} || $now < $r->{deadline};
    kill($r->{killed} ? 'KILL' : 'TERM', $pid);
    $r->{killed} = 1;
    $r->{deadline} = $now + 1;
  }
  finish_done();
}
