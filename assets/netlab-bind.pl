#!/usr/bin/perl
# netlab-bind.pl: the echo hub's launcher. Node cannot setns(), so this opens one TCP listening
# socket inside each of a lab's network namespaces (a socket keeps the namespace it was created
# in), returns to its own namespace, and exec()s the hub with the sockets left open. Only
# namespaces under /run/netns are entered; nothing is changed in any of them.
#
# While inside each namespace it also reads the IPv4 addresses there (SIOCGIFCONF, read-only)
# and prints them, one line per namespace: "addrs NETNS LABEL=IP ...": a pod's own idea of its
# address, for the probe's self-address check, without a process per pod. A socket it cannot
# create (the address is gone) is reported as "unbound NETNS IP ERROR" and skipped.
#
# Ports that network policies name are served too: env NETLAB_HUB_EXTRA lists them
# ("tcp/5432,udp/53"); each target gets a socket per port, TCP listening or UDP bound. They are
# opened with SO_REUSEPORT, so two probes of one lab (two hubs, which answer alike) can share them.
#
# usage:  perl netlab-bind.pl MARKER PORT -- PROGRAM [ARGS...]
# input:  env NETLAB_HUB_BIND = "netns=ip,netns=ip,..."; NETLAB_HUB_EXTRA = "tcp/P,udp/P,..." (optional)
# output: env NETLAB_HUB_FDS  = "fd=netns=ip,..." for PROGRAM (the sockets stay open across exec);
#         an extra port's socket is "fd=netns=ip=tcp/P" or "fd=netns=ip=udp/P"
# MARKER is unused here; it is on the command line so `netlab down` can recognise the process.
use strict;
use warnings;
use Socket qw(AF_INET SOCK_STREAM SOCK_DGRAM SOL_SOCKET SO_REUSEADDR SO_REUSEPORT inet_aton inet_ntoa pack_sockaddr_in);
use Fcntl qw(F_GETFD F_SETFD FD_CLOEXEC);
use Errno qw(EADDRINUSE);

my $BACKLOG = 1024;
my $SIOCGIFCONF = 0x8912;
$| = 1;

sub fail { print STDERR "netlab-bind: @_\n"; exit 3 }


# The IPv4 addresses of the current namespace, as "label=ip" (loopback left out).
sub addresses {
  my $ifreq = length(pack('p', undef)) == 8 ? 40 : 32;    # struct ifreq: 40 bytes on LP64
  socket(my $s, AF_INET, SOCK_DGRAM, 0) or return ();
  my $buf = "\0" x ($ifreq * 256);
  my $ifc = pack('i x![p] p', length($buf), $buf);
  ioctl($s, $SIOCGIFCONF, $ifc) or return ();
  my ($len) = unpack('i', $ifc);
  my @out;
  for (my $off = 0; $off + $ifreq <= $len; $off += $ifreq) {
    my ($label, $family, undef, $addr) = unpack('Z16 S n a4', substr($buf, $off, 24));
    push @out, "$label=" . inet_ntoa($addr) if $family == AF_INET && $label ne 'lo';
  }
  return @out;
}

my ($marker, $port, $sep, @program) = @ARGV;
fail('usage: netlab-bind.pl MARKER PORT -- PROGRAM [ARGS...]') unless defined $sep && $sep eq '--' && @program && defined $port && $port =~ /^\d+$/ && $port > 0 && $port < 65536;
require((__FILE__ =~ s{[^/]*$}{}r) . 'netlab-setns.pl'); # netlab_setns()

my @binds = grep { length } split /,/, ($ENV{NETLAB_HUB_BIND} // '');
fail('NETLAB_HUB_BIND is empty') unless @binds;
my @extra = grep { length } split /,/, ($ENV{NETLAB_HUB_EXTRA} // '');
for (@extra) { fail("bad extra port '$_'") unless m{^(tcp|udp)/(\d+)$} && $2 > 0 && $2 < 65536 }

# A TCP listening or UDP bound socket on ip:port in the current namespace, kept open across exec; undef and $! if not.
sub open_socket {
  my ($proto, $ip, $p, $shared) = @_;
  my $sock;
  socket($sock, AF_INET, $proto eq 'udp' ? SOCK_DGRAM : SOCK_STREAM, 0) or return undef;
  setsockopt($sock, SOL_SOCKET, SO_REUSEADDR, 1) or return undef;
  if ($shared) { setsockopt($sock, SOL_SOCKET, SO_REUSEPORT, 1) or return undef }
  bind($sock, pack_sockaddr_in($p, inet_aton($ip))) or return undef;
  if ($proto eq 'tcp') { listen($sock, $BACKLOG) or return undef }
  return $sock;
}

# Let the socket survive exec: the hub serves it.
sub keep_open {
  my ($s) = @_;
  my $flags = fcntl($s, F_GETFD, 0) or fail("fcntl: $!");
  fcntl($s, F_SETFD, $flags & ~FD_CLOEXEC) or fail("fcntl: $!");
}

open(my $home, '<', '/proc/self/ns/net') or fail("open /proc/self/ns/net: $!");

my (@keep, @fds);
for my $bind (@binds) {
  my ($netns, $ip) = split /=/, $bind, 2;
  fail("bad bind '$bind'") unless defined $ip && $netns =~ /^[A-Za-z0-9][A-Za-z0-9._-]*$/ && $ip =~ /^\d{1,3}(?:\.\d{1,3}){3}$/;
  open(my $ns, '<', "/run/netns/$netns") or fail("open /run/netns/$netns: $!");
  netlab_setns($ns) or fail("setns into $netns: $!");
  my $sock = open_socket('tcp', $ip, $port, 0);
  my $ok = defined $sock;
  my ($err, $errno) = ("$!", $! + 0);
  my @more;
  if ($ok) {
    for my $x (@extra) {
      my ($proto, $p) = split m{/}, $x;
      my $s = open_socket($proto, $ip, $p, 1);
      push @more, [$s, $x, $s ? '' : "$!"];
    }
  }
  my @addrs = addresses();
  # back home before anything else, so nothing later happens inside a lab namespace
  netlab_setns($home) or fail("setns back: $!");
  close($ns);
  print join(' ', 'addrs', $netns, @addrs), "\n";
  if (!$ok) {
    # the port is taken: the caller tries another; anything else (the address is gone from the
    # namespace) is the lab's problem, for the probe to report: serve the others
    fail("listen on $ip:$port in $netns: $err") if $errno == EADDRINUSE;
    print "unbound $netns $ip $err\n";
    next;
  }
  keep_open($sock);
  push @keep, $sock;
  push @fds, fileno($sock) . "=$netns=$ip";
  for my $m (@more) {
    my ($s, $x, $why) = @$m;
    if (!$s) { print "unbound $netns $ip:$x $why\n"; next }
    keep_open($s);
    push @keep, $s;
    push @fds, fileno($s) . "=$netns=$ip=$x";
  }
}

close($home);
fail('could not listen in any namespace') unless @fds;

$ENV{NETLAB_HUB_FDS} = join(',', @fds);
delete $ENV{NETLAB_HUB_BIND};
delete $ENV{NETLAB_HUB_EXTRA};
exec { $program[0] } @program or fail("exec $program[0]: $!");
