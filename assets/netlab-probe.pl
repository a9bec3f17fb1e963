#!/usr/bin/perl
# netlab-probe.pl: the probe's engine. One process does what ~1,100 fping and curl processes and an
# echo server did before: it opens its sockets inside the lab's namespaces (setns(2); a socket
# keeps the namespace it was made in, so nothing else runs in there) and drives them all from one
# poll loop. The servers answer each TCP connection (HTTP) and each UDP datagram with the client
# address they saw: the evidence for or against NAT. The clients ping (a raw ICMP socket per source
# namespace: the reply's TTL and the ICMP errors of routers come with it), fetch the HTTP echo and
# send UDP probes. The probe starts one engine per core (more when a share would not fit the
# open-files limit); each serves its share of the targets and runs the clients of its share of
# the sources.
#
# usage:  NETLAB_PROBE_PROTOCOL=1 perl netlab-probe.pl MARKER   (docs/runner-protocol.md)
#         MARKER is unused here; it is on the command line so `netlab down` can recognise us.
# stdin, fields separated by tabs; namespace names are checked, addresses and ports too:
#         serve NETNS IP PROTO PORT      a listening TCP (HTTP echo) or bound UDP (datagram echo) socket
#         addrs NETNS                    read the namespace's IPv4 addresses (a pod's own idea of its address)
#         ready                          open them: prints "unbound ..." and "addrs ..." lines, then "ready"
#         ping ID NETNS IP CLASS         CLASS: a (a reply is expected: patient) or s (silence is: short)
#         tcp ID NETNS IP PORT CLASS     an HTTP GET of /probe/ID
#         udp ID NETNS IP PORT CLASS     "netlab-probe ID", answered "netlab-echo ID SEEN SERVED_BY"
#         end                            the last job: prints "loaded", then waits for
#         go                             run the clients; prints a result line per probe, then "done"
#         (end of input)                 stop serving and exit: the probe closes it once every engine is done
# stdout, tab-separated:
#         unbound NETNS IP[:PROTO/PORT] ERROR
#         addrs NETNS LABEL=IP ...       (space-separated, like netlab-bind.pl's were)
#         ok ID MS TTL                   ping: the round trip, and the TTL the echo reply arrived with
#         ok ID MS SEEN SERVED_BY LOCAL  tcp, udp: the address the server saw, the namespace that answered,
#                                        the source address this side's kernel picked
#         fail ID MS LOCAL REASON        LOCAL is "-" where none was picked
# Exits on SIGTERM/SIGINT/SIGHUP, and by itself when the probe that started it is gone.
use strict;
use warnings;
use Socket qw(AF_INET SOCK_STREAM SOCK_DGRAM SOCK_RAW SOCK_NONBLOCK IPPROTO_ICMP SOL_SOCKET SO_ERROR SO_LINGER
  inet_aton inet_ntoa pack_sockaddr_in unpack_sockaddr_in);
use IO::Poll qw(POLLIN POLLOUT);
use Errno qw(EINPROGRESS EAGAIN EWOULDBLOCK EINTR);
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);

# The protocol this engine speaks with src/probe/engine.ts (docs/runner-protocol.md). The probe
# names its own in NETLAB_PROBE_PROTOCOL (unset counts as 1, the protocol as it was before it had
# a number); any other is refused before a line is read.
use constant PROBE_PROTOCOL => 1;
my $caller_protocol = (delete $ENV{NETLAB_PROBE_PROTOCOL} // 1) =~ s/[\x00-\x1f]/?/gr;
if ($caller_protocol ne PROBE_PROTOCOL) {
  print STDERR "$0 speaks protocol ", PROBE_PROTOCOL, ", netlab expects $caller_protocol: reinstall netlab\n";
  exit 2;
}

# the echo servers, shared with the pods' workload (netlab-workload.pl): netlab_enter(),
# netlab_listen(), netlab_serve_event(); and netlab_setns() through it
require((__FILE__ =~ s{[^/]*$}{}r) . 'netlab-serve.pl');

# Timings, as the fping and curl options were: a probe that must be answered is patient enough
# never to fail a loaded but working lab; one that must go unanswered is short (a reply inside one
# machine takes well under a millisecond).
my %PING_WAIT = (a => 0.5, s => 0.25);    # per echo request
my %PING_TRIES = (a => 2, s => 1);
my %CONNECT_WAIT = (a => 2, s => 0.5);     # TCP connect; UDP: the whole wait
my %ANSWER_WAIT = (a => 3, s => 0.5);      # TCP: from the connection to the whole answer
my $UDP_RESEND = 0.25;
my $IN_FLIGHT = 400;                       # client probes at once

my $NETNS = qr/^[A-Za-z0-9][A-Za-z0-9._-]*$/;
my $IP = qr/^\d{1,3}(?:\.\d{1,3}){3}$/;
my $ICMP_ID = $$ & 0xffff;

$| = 1;
my $out = '';    # result lines, written out once per loop turn
sub say_line { $out .= join("\t", @_) . "\n" }
sub flush_out { if (length $out) { syswrite(STDOUT, $out) // exit 0; $out = '' } }
sub fail { print STDERR "netlab-probe: @_\n"; exit 3 }

$SIG{TERM} = $SIG{INT} = $SIG{HUP} = sub { exit 0 };
# a write to a connection reset meanwhile fails that probe (EPIPE), not the engine; a failed
# write of results means the probe is gone (syswrite // exit)
$SIG{PIPE} = 'IGNORE';
my $parent = $ENV{NETLAB_PROBE_PID} || getppid();
my $last_parent_check = 0;
sub orphaned { getppid() != $parent }
exit 0 if orphaned();

sub enter { netlab_enter(@_) }    # a lab namespace, never the host's own (netlab-serve.pl)
sub go_home { netlab_go_home() or fail("setns back home: $!") }

# ---- what to do, read from stdin -------------------------------------------------------------
my (@serve, @addrs, @jobs);
my %jobs_of;    # netns => [job, ...]: each source's probes together
my @sources;
my $ready = 0;
sub read_line {
  my $line = <STDIN>;
  return undef unless defined $line;
  chomp $line;
  return [split /\t/, $line];
}
while (my $f = read_line()) {
  my $verb = $f->[0] // '';
  if ($verb eq 'serve') {
    my (undef, $netns, $ip, $proto, $port) = @$f;
    fail("bad serve line: @$f") unless defined $port && $netns =~ $NETNS && $ip =~ $IP && $proto =~ /^(tcp|udp)$/ && $port =~ /^\d+$/ && $port > 0 && $port < 65536;
    push @serve, [$netns, $ip, $proto, $port];
  } elsif ($verb eq 'addrs') {
    fail("bad addrs line: @$f") unless defined $f->[1] && $f->[1] =~ $NETNS;
    push @addrs, $f->[1];
  } elsif ($verb eq 'ready') {
    $ready = 1;
    last;
  } else {
    fail("unexpected line before ready: @$f");
  }
}

exit 0 unless $ready;

# ---- the servers ------------------------------------------------------------------------------
my %handler;    # fileno => [kind, fh, ...]: everything the poll loop watches

# The IPv4 addresses of the current namespace, as "label=ip" (loopback left out): SIOCGIFCONF.
sub addresses {
  my $SIOCGIFCONF = 0x8912;
  my $ifreq = length(pack('p', undef)) == 8 ? 40 : 32;    # struct ifreq: 40 bytes on LP64
  socket(my $s, AF_INET, SOCK_DGRAM, 0) or return ();
  my $buf = "\0" x ($ifreq * 256);
  my $ifc = pack('i x![p] p', length($buf), $buf);
  ioctl($s, $SIOCGIFCONF, $ifc) or return ();
  my ($len) = unpack('i', $ifc);
  my @found;
  for (my $off = 0; $off + $ifreq <= $len; $off += $ifreq) {
    my ($label, $family, undef, $addr) = unpack('Z16 S n a4', substr($buf, $off, 24));
    push @found, "$label=" . inet_ntoa($addr) if $family == AF_INET && $label ne 'lo';
  }
  return @found;
}

# a namespace's sockets one after the other, and its handle closed after them: a 10,000-pod lab's
# handles and sockets both held would be twice the files
@serve = sort { $a->[0] cmp $b->[0] } @serve;
for my $k (0 .. $#serve) {
  my ($netns, $ip, $proto, $port) = @{$serve[$k]};
  # each socket one engine's alone: a port taken by anything else (another probe) is reported
  my ($entry, $err) = eval { netlab_listen({netns => $netns, ip => $ip, port => $port}, $proto) };
  fail($@ =~ s/\n$//r) if $@;
  netlab_forget_netns($netns) unless $k < $#serve && $serve[$k + 1][0] eq $netns;
  if (!$entry) { say_line('unbound', $netns, "$ip:$proto/$port", $err); next }
  $handler{fileno $entry->[1]} = $entry;
}
for my $netns (@addrs) {
  if (!enter($netns)) { go_home(); next }    # no line: the probe reports the addresses unread
  my @found = addresses();
  go_home();
  netlab_forget_netns($netns);    # a handle at a time, not one per pod (10,000 files)
  $out .= join(' ', 'addrs', $netns, @found) . "\n";
}
say_line('ready');
flush_out();

my $go = 0;
while (defined(my $line = <STDIN>)) {
  chomp $line;
  if ($line eq 'end') {
    # every engine has its jobs before any starts: one still reading its jobs would not serve
    # the connections the others' clients make to its sockets
    say_line('loaded');
    flush_out();
    my $next = <STDIN>;
    $go = defined $next && $next eq "go\n";
    last;
  }
  # kept as the line itself until its turn (a --full run hands an engine ~300,000): checked now
  fail("bad job line: $line")
    unless $line =~ /^(?:ping\t\d+\t([A-Za-z0-9][A-Za-z0-9._-]*)\t\d{1,3}(?:\.\d{1,3}){3}|(?:tcp|udp)\t\d+\t([A-Za-z0-9][A-Za-z0-9._-]*)\t\d{1,3}(?:\.\d{1,3}){3}\t(\d{1,5}))\t[as]$/
    && (!defined $3 || ($3 > 0 && $3 < 65536));
  my $netns = $1 // $2;
  push @sources, $netns unless $jobs_of{$netns};
  push @{$jobs_of{$netns}}, $line;
}
exit 0 unless $go;    # the probe is gone (or stopped before its clients)

# ---- the clients ------------------------------------------------------------------------------
sub clock { clock_gettime(CLOCK_MONOTONIC) }    # never steps, unlike the wall clock
my $start = clock();
my $now = $start;
my $in_flight = 0;
my %raw;          # netns => its raw ICMP socket
my %pending_in;   # netns => its probes in flight
my %ping;         # seq => probe: echo requests waiting for a reply
my $next_seq = 0;
my @timers;       # [deadline, probe, generation]; each queue is in deadline order (one wait per queue)
my %timer_queue;  # wait => [timer, ...]

sub ms_since { sprintf('%.2f', ($now - $_[0]) * 1000) }

sub at {
  my ($wait, $p) = @_;
  push @{$timer_queue{$wait} //= []}, [$now + $wait, $p, ++$p->{gen}];
}

sub finish {
  my ($p, @fields) = @_;
  return if $p->{done};
  $p->{done} = 1;
  $in_flight--;
  say_line(@fields);
  # a source whose last probe has ended no longer needs its raw socket: fewer sockets to poll
  if (--$pending_in{$p->{src}} == 0 && !$jobs_of{$p->{src}}) {
    delete $pending_in{$p->{src}};
    if (my $raw = delete $raw{$p->{src}}) { delete $handler{fileno $raw}; close $raw }
  }
  if ($p->{fh}) {
    delete $handler{fileno $p->{fh}};
    close $p->{fh};
    delete $p->{fh};
  }
  for my $seq (@{$p->{seqs} // []}) { delete $ping{$seq} if ($ping{$seq} // 0) == $p }
}
sub failed { my ($p, $why) = @_; finish($p, 'fail', $p->{id}, ms_since($p->{t0}), $p->{local} // '-', $why) }

sub checksum {
  my ($data) = @_;
  $data .= "\0" if length($data) % 2;
  my $sum = unpack('%32n*', $data);
  $sum = ($sum >> 16) + ($sum & 0xffff);
  $sum += $sum >> 16;
  return ~$sum & 0xffff;
}

sub send_ping {
  my ($p) = @_;
  # a reply to an earlier try still counts: every try's sequence number stays the probe's until it ends
  # a free sequence number: at most IN_FLIGHT of 65,536 are taken
  $next_seq = ($next_seq + 1) & 0xffff while exists $ping{$next_seq};
  my $seq = $next_seq;
  $next_seq = ($next_seq + 1) & 0xffff;
  push @{$p->{seqs}}, $seq;
  $ping{$seq} = $p;
  my $body = pack('CCnnn', 8, 0, 0, $ICMP_ID, $seq) . 'netlab-probe....';
  substr($body, 2, 2) = pack('n', checksum($body));
  $p->{sent} = $now;
  $p->{tries}++;
  if (!defined send($p->{raw}, $body, 0, pack_sockaddr_in(0, inet_aton($p->{ip})))) {
    failed($p, "cannot send: $!");
    return;
  }
  at($PING_WAIT{$p->{class}}, $p);
}

my %UNREACH = (
  0 => 'Network Unreachable', 1 => 'Host Unreachable', 2 => 'Protocol Unreachable', 3 => 'Port Unreachable',
  4 => 'Fragmentation Needed', 9 => 'Network Prohibited', 10 => 'Host Prohibited', 13 => 'Administratively Prohibited',
);

# Everything ICMP that reached one source namespace: our echo replies, and errors about our requests.
sub read_icmp {
  my ($fh) = @_;
  while (defined(my $from = recv($fh, my $pkt, 1500, 0))) {
    next if length($pkt) < 28;
    my $ihl = (ord($pkt) & 0x0f) * 4;
    my ($ttl) = unpack('C', substr($pkt, 8, 1));
    my $src = inet_ntoa(substr($pkt, 12, 4));
    my ($type, $code) = unpack('CC', substr($pkt, $ihl, 2));
    if ($type == 0) {
      my ($id, $seq) = unpack('nn', substr($pkt, $ihl + 4, 4));
      next unless $id == $ICMP_ID;
      my $p = $ping{$seq} or next;
      next unless $p->{ip} eq $src && $p->{raw} == $fh;
      finish($p, 'ok', $p->{id}, sprintf('%.2f', ($now - $p->{sent}) * 1000), $ttl);
      last unless defined fileno($fh);    # its source's last probe: the socket is closed
    } elsif ($type == 3 || $type == 11) {
      # the request that caused it: its IP header, then the first 8 bytes of its ICMP header
      my $inner = substr($pkt, $ihl + 8);
      next if length($inner) < 28;
      my $iihl = (ord($inner) & 0x0f) * 4;
      next unless unpack('C', substr($inner, 9, 1)) == 1 && length($inner) >= $iihl + 8;
      my ($itype, undef, undef, $id, $seq) = unpack('CCnnn', substr($inner, $iihl, 8));
      next unless $itype == 8 && $id == $ICMP_ID;
      my $p = $ping{$seq} or next;
      next unless $p->{raw} == $fh && inet_ntoa(substr($inner, 16, 4)) eq $p->{ip};
      my $what = $type == 11 ? 'Time Exceeded' : ($UNREACH{$code} // "Unreachable (code $code)");
      failed($p, "ICMP $what from $src");
      last unless defined fileno($fh);
    }
  }
}

sub local_of {
  my ($fh) = @_;
  my $name = getsockname($fh) or return undef;
  my (undef, $addr) = unpack_sockaddr_in($name);
  my $ip = inet_ntoa($addr);
  return $ip eq '0.0.0.0' ? undef : $ip;
}

# Start a probe; we are inside its source namespace (sockets are made there).
sub start_probe {
  my ($line, $netns) = @_;
  my ($kind, $id, undef, $ip, @rest) = split /\t/, $line;
  my ($port, $class) = $kind eq 'ping' ? (undef, $rest[0]) : @rest;
  my $p = {kind => $kind, id => $id, ip => $ip, port => $port, class => $class, t0 => $now, gen => 0, src => $netns};
  $in_flight++;
  $pending_in{$netns}++;
  if ($kind eq 'ping') {
    my $raw = $raw{$netns} //= do {
      my $s;
      socket($s, AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMP) or do { failed($p, "cannot open a raw ICMP socket: $!"); return };
      $handler{fileno $s} = ['icmp', $s];
      $s;
    };
    $p->{raw} = $raw;
    send_ping($p);
    return;
  }
  my $sock;
  if (!socket($sock, AF_INET, ($kind eq 'udp' ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK, 0)) { failed($p, "cannot open a socket: $!"); return }
  $p->{fh} = $sock;
  my $to = pack_sockaddr_in($port, inet_aton($ip));
  if (!connect($sock, $to) && $! != EINPROGRESS) { failed($p, ($kind eq 'udp' ? 'cannot connect: ' : 'no reply: ') . "$!"); return }
  $p->{local} = local_of($sock);
  if ($kind eq 'udp') {
    $handler{fileno $sock} = ['udp-client', $sock, $p];
    $p->{request} = "netlab-probe $id\n";
    udp_send($p);
    at($UDP_RESEND, $p) unless $p->{done};
  } else {
    $handler{fileno $sock} = ['connecting', $sock, $p];
    $p->{buf} = '';
    at($CONNECT_WAIT{$class}, $p);
  }
}

sub udp_send {
  my ($p) = @_;
  $p->{sent} = $now;
  failed($p, "no reply: $!") unless defined send($p->{fh}, $p->{request}, 0);    # an ICMP error came back
}

# A timer fired for a probe still waiting.
sub expire {
  my ($p) = @_;
  if ($p->{kind} eq 'ping') {
    return send_ping($p) if $p->{tries} < $PING_TRIES{$p->{class}};
    return failed($p, 'no reply (timeout)');
  }
  if ($p->{kind} eq 'udp' && $now - $p->{t0} + 0.001 < $CONNECT_WAIT{$p->{class}}) {
    udp_send($p);
    return $p->{done} || at($UDP_RESEND, $p);
  }
  return failed($p, 'no reply (timeout)');
}

sub on_event {
  my ($h, $events) = @_;
  my $kind = $h->[0];
  if (netlab_serve_event(\%handler, $h, $now)) {
    # the echo servers' (netlab-serve.pl)
  } elsif ($kind eq 'icmp') {
    read_icmp($h->[1]);
  } elsif ($kind eq 'connecting') {
    my $p = $h->[2];
    my $err = unpack('i', getsockopt($p->{fh}, SOL_SOCKET, SO_ERROR) // pack('i', 0));
    if ($err) { $! = $err; return failed($p, "no reply: $!") }
    my $host = "$p->{ip}:$p->{port}";
    defined syswrite($p->{fh}, "GET /probe/$p->{id} HTTP/1.1\r\nHost: $host\r\nUser-Agent: netlab-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n")
      or return failed($p, "no reply: $!");
    $h->[0] = 'reading';
    at($ANSWER_WAIT{$p->{class}}, $p);
  } elsif ($kind eq 'reading') {
    my $p = $h->[2];
    my $n = sysread($p->{fh}, my $chunk, 4096);
    if (!defined $n) { return if $! == EAGAIN || $! == EWOULDBLOCK; return failed($p, "no reply: $!") }
    if ($n) { $p->{buf} .= $chunk; return if length($p->{buf}) < 65536 }
    my ($status) = $p->{buf} =~ m{^HTTP/1\.[01] (\d{3})};
    my ($seen) = $p->{buf} =~ /\r\nX-Netlab-Seen: *(\S+)/i;
    my ($by) = $p->{buf} =~ /\r\nX-Netlab-Served-By: *(\S+)/i;
    # the answer is complete and the server has closed: end with a reset rather than a FIN
    # handshake (two packets fewer per check, and no TIME_WAIT left behind)
    setsockopt($p->{fh}, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0)) unless $n;
    return finish($p, 'ok', $p->{id}, ms_since($p->{t0}), $seen, $by // '-', $p->{local} // '-') if ($status // '') eq '200' && $seen;
    return failed($p, $status ? "HTTP $status without an echo" : 'the connection closed without an answer');
  } elsif ($kind eq 'udp-client') {
    my $p = $h->[2];
    my $got = recv($p->{fh}, my $reply, 512, 0);
    if (!defined $got) { return if $! == EAGAIN || $! == EWOULDBLOCK; return failed($p, "no reply: $!") }
    return unless $reply =~ /^netlab-echo (\d+) (\S+) (\S+)/ && $1 eq $p->{id};
    finish($p, 'ok', $p->{id}, ms_since($p->{t0}), $2, $3, $p->{local} // '-');
  }
}

my ($source_at, $job_at) = (0, 0);
sub refill {
  my $entered = '';
  while ($in_flight < $IN_FLIGHT && $source_at < @sources) {
    my $netns = $sources[$source_at];
    my $list = $jobs_of{$netns};
    if ($entered ne $netns) {
      go_home() if length $entered;
      if (!enter($netns)) {
        my $why = "cannot enter $netns: $!";
        while ($job_at < @$list) {
          my (undef, $id) = split /\t/, $list->[$job_at++];
          say_line('fail', $id, '0', '-', $why);
        }
      }
      $entered = $netns;
    }
    start_probe($list->[$job_at++], $netns) while $in_flight < $IN_FLIGHT && $job_at < @$list;
    if ($job_at >= @$list) {
      $source_at++;
      $job_at = 0;
      delete $jobs_of{$netns};
      netlab_forget_netns($netns);
      if (!$pending_in{$netns} && (my $raw = delete $raw{$netns})) { delete $handler{fileno $raw}; close $raw }
    }
  }
  go_home() if length $entered;
}

my $stdin_open = 1;
my $clients_done = 0;
$handler{fileno STDIN} = ['stdin', \*STDIN];
refill();
for (;;) {
  if (!$clients_done && $in_flight == 0 && $source_at >= @sources) {
    $clients_done = 1;
    say_line('done');
  }
  flush_out();
  last if !$stdin_open;
  if ($now - $last_parent_check > 0.5) { $last_parent_check = $now; exit 0 if orphaned() }
  # the nearest deadline
  my $wait = 0.5;
  for my $q (values %timer_queue) {
    shift @$q while @$q && ($q->[0][1]{done} || $q->[0][2] != $q->[0][1]{gen});
    $wait = $q->[0][0] - $now if @$q && $q->[0][0] - $now < $wait;
  }
  my (@poll, @watched);
  while (my ($fd, $h) = each %handler) {
    push @poll, $fd, $h->[0] eq 'connecting' ? POLLOUT : POLLIN;
    push @watched, $h;
  }
  my $n = IO::Poll::_poll($wait > 0 ? int($wait * 1000) + 1 : 0, @poll);
  fail("poll: $!") if $n < 0 && $! != EINTR;
  $now = clock();
  for (my $i = 0; $n > 0 && $i < @poll; $i += 2) {
    next unless $poll[$i + 1];
    # the socket polled, not one that took its number since (a socket closed earlier in this
    # turn, and a connection accepted after it, can share a file descriptor number)
    my $h = $handler{$poll[$i]};
    next unless $h && $h == $watched[$i / 2];
    if ($h->[0] eq 'stdin') {
      # nothing more comes after "go": end of input means stop
      my $r = sysread(STDIN, my $junk, 4096);
      if (!$r) { $stdin_open = 0; delete $handler{$poll[$i]} }
      next;
    }
    on_event($h, $poll[$i + 1]);
  }
  for my $q (values %timer_queue) {
    while (@$q && $q->[0][0] <= $now) {
      my ($deadline, $p, $gen) = @{shift @$q};
      expire($p) if !$p->{done} && $gen == $p->{gen};
    }
  }
  refill();
}
exit 0;
