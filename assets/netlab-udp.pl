#!/usr/bin/perl
# netlab-udp.pl: the probe's UDP client (curl speaks no UDP). Run inside a lab namespace by the
# probe's job runner, it sends "netlab-probe ID" to each target from a socket of its own, connected
# to the target, so an ICMP error for that target (port unreachable, administratively prohibited)
# comes back on that socket; the echo hub answers "netlab-echo ID SEEN SERVED_BY". It sends again
# every RESEND seconds until the target answers, fails, or the time is up.
#
# usage:  perl netlab-udp.pl TIMEOUT_MS ID=IP:PORT ...
# output: one line per target, in any order:
#         "ID ok SEEN SERVED_BY LOCAL_IP MS" or "ID fail LOCAL_IP MS REASON"
use strict;
use warnings;
use Socket qw(AF_INET SOCK_DGRAM inet_aton inet_ntoa pack_sockaddr_in unpack_sockaddr_in);
use IO::Select;
use Time::HiRes qw(time);

my $RESEND = 0.25;
$| = 1;

my ($timeout_ms, @targets) = @ARGV;
die "usage: netlab-udp.pl TIMEOUT_MS ID=IP:PORT ...\n" unless defined $timeout_ms && $timeout_ms =~ /^\d+$/ && @targets;
my $start = time;
my $deadline = $start + $timeout_ms / 1000;
my $sel = IO::Select->new;
my %pending;    # fileno => {id, sock, addr, local, request}

sub ms { return int((time - $start) * 1000 + 0.5) }

sub done {
  my ($t, $line) = @_;
  print "$t->{id} $line\n";
  $sel->remove($t->{sock});
  delete $pending{fileno $t->{sock}};
  close $t->{sock};
}

for my $target (@targets) {
  die "netlab-udp: bad target '$target'\n" unless $target =~ /^(\d+)=(\d{1,3}(?:\.\d{1,3}){3}):(\d+)$/ && $3 > 0 && $3 < 65536;
  my ($id, $ip, $port) = ($1, $2, $3);
  my $sock;
  my $addr = pack_sockaddr_in($port, inet_aton($ip));
  if (!socket($sock, AF_INET, SOCK_DGRAM, 0) || !connect($sock, $addr)) {
    print "$id fail - ", ms(), " cannot connect: $!\n";
    next;
  }
  my (undef, $local) = unpack_sockaddr_in(getsockname($sock));
  my $t = {id => $id, sock => $sock, local => inet_ntoa($local), request => "netlab-probe $id\n"};
  $pending{fileno $sock} = $t;
  $sel->add($sock);
}

my $last_send = 0;
while (%pending) {
  my $now = time;
  last if $now >= $deadline;
  if ($now - $last_send >= $RESEND) {
    $last_send = $now;
    for my $t (values %pending) {
      next if defined send($t->{sock}, $t->{request}, 0);
      done($t, "fail $t->{local} " . ms() . " cannot send: $!");    # e.g. an ICMP error already came back
    }
  }
  my $wait = $last_send + $RESEND - time;
  $wait = $deadline - time if $deadline - time < $wait;
  next if $wait <= 0;
  for my $fh ($sel->can_read($wait)) {
    my $t = $pending{fileno $fh} or next;
    my $reply;
    if (!defined recv($fh, $reply, 512, 0)) {
      done($t, "fail $t->{local} " . ms() . " $!");    # Connection refused, No route to host, …
      next;
    }
    next unless $reply =~ /^netlab-echo (\d+) (\S+) (\S+)/ && $1 eq $t->{id};
    done($t, "ok $2 $3 $t->{local} " . ms());
  }
}
done($_, "fail $_->{local} " . ms() . ' no reply (timeout)') for values %pending;
