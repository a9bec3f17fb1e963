#!/usr/bin/perl
# netlab-workload.pl: the pods' workload. Each port a pod declares (`ports:` in the topology) gets
# a small echo server for the life of the lab: one process per lab, which opens every pod's
# sockets inside the pod's namespace (setns(2): a socket keeps the namespace it was made in) and
# serves them all from one poll loop, with the probe's own echo servers (netlab-serve.pl). It
# answers TCP with one line (the pod, its address and port, the client address it saw), as HTTP
# when the request is HTTP; UDP with a datagram of the same line; the probe's UDP probe as the
# probe's own servers do.
#
# usage:  NETLAB_WORKLOAD_PROTOCOL=1 perl netlab-workload.pl MARKER < lines   (docs/runner-protocol.md)
#         MARKER is unused here; it is on the command line so `netlab down` can recognise us.
# stdin, read to its end first; fields separated by tabs, each checked:
#         serve NETNS POD IP PROTO PORT
# stdout, once every socket is open (or could not be):
#         unbound NETNS IP:PROTO/PORT ERROR     one per socket that could not be opened
#         ready
# then stdin, stdout and stderr go to /dev/null: the process outlives the `netlab up` that
# started it (its own session), and serves until SIGTERM/SIGINT, or until none of its namespaces
# has its name any more (the lab was deleted by hand).
use strict;
use warnings;
use IO::Poll;
use Errno qw(EINTR);
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);

# The protocol spoken with src/lab/workload.ts (docs/runner-protocol.md); unset counts as 1.
use constant WORKLOAD_PROTOCOL => 1;
my $caller_protocol = (delete $ENV{NETLAB_WORKLOAD_PROTOCOL} // 1) =~ s/[\x00-\x1f]/?/gr;
if ($caller_protocol ne WORKLOAD_PROTOCOL) {
  print STDERR "$0 speaks protocol ", WORKLOAD_PROTOCOL, ", netlab expects $caller_protocol: reinstall netlab\n";
  exit 2;
}

require((__FILE__ =~ s{[^/]*$}{}r) . 'netlab-serve.pl');    # netlab_listen(), netlab_serve_event(), ...

my $NETNS = qr/^[A-Za-z0-9][A-Za-z0-9._-]*$/;
# a pod's name as the lab says it: NAME, or NS/NAME outside the default namespace
my $POD = qr/^(?:[a-z0-9][a-z0-9-]*\/)?[a-z0-9][a-z0-9-]*$/;
my $IP = qr/^\d{1,3}(?:\.\d{1,3}){3}$/;
# how often to look whether the lab's namespaces still have their names
my $WATCH_EVERY = 2;

sub fail { print STDERR "netlab-workload: @_\n"; exit 3 }

$SIG{TERM} = $SIG{INT} = sub { exit 0 };
$SIG{HUP} = 'IGNORE';     # no terminal of its own: a hang-up is not meant for it
$SIG{PIPE} = 'IGNORE';    # a client gone before its answer: that write fails, nothing else

my @serve;
while (defined(my $line = <STDIN>)) {
  chomp $line;
  next if $line eq '';
  my ($verb, $netns, $pod, $ip, $proto, $port, @rest) = split /\t/, $line;
  fail("bad serve line: $line")
    unless $verb eq 'serve' && defined $port && !@rest && $netns =~ $NETNS && $pod =~ $POD && $ip =~ $IP && $proto =~ /^(tcp|udp)$/
    && $port =~ /^\d{1,5}$/ && $port > 0 && $port < 65536;
  push @serve, [{netns => $netns, pod => $pod, ip => $ip, port => $port}, $proto];
}

my %handler;    # fileno => entry (netlab-serve.pl)
my %watched;    # netns => its device:inode when opened: the lab is gone once no name leads there
for my $s (@serve) {
  my ($srv, $proto) = @$s;
  my ($entry, $err) = eval { netlab_listen($srv, $proto) };
  fail($@ =~ s/\n$//r) if $@;
  netlab_forget_netns($srv->{netns});    # one file per socket, not one more per pod
  if (!$entry) { print "unbound\t$srv->{netns}\t$srv->{ip}:$proto/$srv->{port}\t$err\n"; next }
  $handler{fileno $entry->[1]} = $entry;
  $watched{$srv->{netns}} //= join(':', (stat "/run/netns/$srv->{netns}")[0, 1]);
}
print "ready\n";
exit 0 unless %handler;    # nothing to serve
chdir '/';    # holds no directory of whoever started it
open(STDIN, '<', '/dev/null');
open(STDOUT, '>', '/dev/null');
open(STDERR, '>', '/dev/null');

# Does any of the lab's namespaces still have its name (the same namespace)?
sub lab_there {
  for my $netns (keys %watched) {
    my @st = stat "/run/netns/$netns";
    return 1 if @st && join(':', @st[0, 1]) eq $watched{$netns};
  }
  return 0;
}

my $now = clock_gettime(CLOCK_MONOTONIC);
my $last_watch = $now;
for (;;) {
  my $wait = netlab_serve_quiet(\%handler, $now) // $WATCH_EVERY;
  $wait = $WATCH_EVERY if $wait > $WATCH_EVERY;
  my (@poll, @watched);
  while (my ($fd, $h) = each %handler) {
    push @poll, $fd, IO::Poll::POLLIN;
    push @watched, $h;
  }
  my $n = IO::Poll::_poll(int($wait * 1000) + 1, @poll);
  fail("poll: $!") if $n < 0 && $! != EINTR;
  $now = clock_gettime(CLOCK_MONOTONIC);
  for (my $i = 0; $n > 0 && $i < @poll; $i += 2) {
    next unless $poll[$i + 1];
    # the socket polled, not one that took its number since
    my $h = $handler{$poll[$i]};
    netlab_serve_event(\%handler, $h, $now) if $h && $h == $watched[$i / 2];
  }
  if ($now - $last_watch >= $WATCH_EVERY) {
    $last_watch = $now;
    exit 0 unless lab_there();
  }
}
