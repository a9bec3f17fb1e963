# Shared by the probe's engine (netlab-probe.pl) and the pods' workload (netlab-workload.pl): the
# echo servers. Opening a listening TCP or bound
# UDP socket there, and answering each connection and datagram from the caller's poll loop, so the
# probe's clients read a workload's answer exactly as they read the probe's own.
#
# A server is a hash: {netns, ip, port}, and for a workload's also {pod}. The caller keeps one
# table, fileno => entry, of everything its poll loop watches; the entries made here are
#   [listener, FH, SERVER]        a listening TCP socket
#   [udp-server, FH, SERVER]      a bound UDP socket
#   [http-server, FH, REQUEST, SERVER, CLIENT_IP, SINCE]   an accepted connection (SINCE: a workload's)
# and netlab_serve_event() answers an event on any of them.
#
# What they answer (docs/runner-protocol.md, "Wire behaviour"):
#   TCP, an HTTP request   200, X-Netlab-Seen: CLIENT_IP, X-Netlab-Served-By: NETNS; the body is the
#                          client's address (the probe's) or the workload's line
#   TCP, anything else     the probe's: nothing (it closes once the client does); a workload's: its
#                          line, at once for a line that is not HTTP, after NETLAB_QUIET_WAIT when
#                          the client sends nothing (after NETLAB_REQUEST_WAIT, an unfinished request)
#   UDP "netlab-probe ID"  "netlab-echo ID CLIENT_IP NETNS"
#   UDP anything else      the probe's: nothing; a workload's: its line (but to an answer: a
#                          workload's line or an echo, so that no two servers bounce one for ever)
# A workload's line: "POD IP:PORT from CLIENT_IP".
use strict;
use warnings;
use Socket qw(AF_INET SOCK_STREAM SOCK_DGRAM SOCK_NONBLOCK SOL_SOCKET SO_REUSEADDR inet_aton inet_ntoa pack_sockaddr_in
  unpack_sockaddr_in);

require((__FILE__ =~ s{[^/]*$}{}r) . 'netlab-setns.pl');    # netlab_enter(), netlab_setns()

use constant NETLAB_MAX_REQUEST => 8192;
# a workload's client that has said nothing for this long gets the plain line (bash's /dev/tcp, nc)
use constant NETLAB_QUIET_WAIT => 1.5;
# and one that began a request but has not finished it (someone typing into nc) this long
use constant NETLAB_REQUEST_WAIT => 10;

# Open SERVER's socket (PROTO tcp or udp) inside its namespace: (entry) for the caller's table, or
# (undef, why). No SO_REUSEPORT: each socket is one process's alone, so a second listener (another
# probe, a workload) fails loudly instead of splitting the connections.
sub netlab_listen {
  my ($srv, $proto) = @_;
  return (undef, "cannot enter the namespace: $!") unless netlab_enter($srv->{netns});
  my $sock;
  my $ok = socket($sock, AF_INET, ($proto eq 'udp' ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK, 0)
    && setsockopt($sock, SOL_SOCKET, SO_REUSEADDR, 1)
    && bind($sock, pack_sockaddr_in($srv->{port}, inet_aton($srv->{ip})))
    && ($proto eq 'udp' || listen($sock, 1024));
  my $err = "$!";
  netlab_go_home() or die "setns back home: $!\n";
  return (undef, $err) unless $ok;
  return ([$proto eq 'udp' ? 'udp-server' : 'listener', $sock, $srv]);
}

# A workload's answer: what it is, and whom it saw.
sub netlab_workload_line {
  my ($srv, $seen) = @_;
  return "$srv->{pod} $srv->{ip}:$srv->{port} from $seen";
}

sub http_answer {
  my ($fh, $srv, $seen) = @_;
  my $body = ($srv->{pod} ? netlab_workload_line($srv, $seen) : $seen) . "\n";
  syswrite($fh, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Netlab-Seen: $seen\r\nX-Netlab-Served-By: $srv->{netns}\r\n"
      . 'Content-Length: ' . length($body) . "\r\nConnection: close\r\n\r\n$body");
}

sub close_conn {
  my ($table, $h) = @_;
  delete $table->{fileno $h->[1]};
  close $h->[1];
}

# Read from one accepted connection; answer once the request says what it wants.
sub serve_conn {
  my ($table, $h) = @_;
  my (undef, $fh, undef, $srv, $seen) = @$h;
  my $n = sysread($fh, my $chunk, 4096);    # blocking, but read only when poll said so
  $h->[2] .= $chunk if $n;
  my $req = $h->[2];
  my $head_done = index($req, "\r\n\r\n") >= 0;
  if ($srv->{pod}) {
    $head_done ||= index($req, "\n\n") >= 0;    # a request typed into nc: bare line feeds
    my ($first) = $req =~ /^([^\n]*)\n/;
    my $http = defined $first && $first =~ m{^[A-Z]+ \S+ HTTP/\d\.\d\r?$};
    # an HTTP request's head still coming: wait for the rest
    return if $n && $http && !$head_done && length($req) <= NETLAB_MAX_REQUEST;
    return if $n && !defined $first && length($req) <= NETLAB_MAX_REQUEST;
    if ($http && $head_done) { http_answer($fh, $srv, $seen) }
    else { syswrite($fh, netlab_workload_line($srv, $seen) . "\n") }
  } else {
    return if $n && !$head_done && length($req) <= NETLAB_MAX_REQUEST;
    http_answer($fh, $srv, $seen) if $n && $head_done;
  }
  close_conn($table, $h);
}

# An event on an entry netlab_listen() or a listener made: handled (true), or not one of ours.
sub netlab_serve_event {
  my ($table, $h, $now) = @_;
  my $kind = $h->[0];
  if ($kind eq 'listener') {
    my $srv = $h->[2];
    while (my $peer = accept(my $c, $h->[1])) {
      my (undef, $addr) = unpack_sockaddr_in($peer);
      # left blocking (accept() does not pass on O_NONBLOCK): it is read only when poll says
      # there is something, and its one small answer fits the socket's buffer
      $table->{fileno $c} = ['http-server', $c, '', $srv, inet_ntoa($addr), $srv->{pod} ? $now : undef];
    }
  } elsif ($kind eq 'http-server') {
    serve_conn($table, $h);
  } elsif ($kind eq 'udp-server') {
    my $srv = $h->[2];
    while (defined(my $from = recv($h->[1], my $msg, 512, 0))) {
      my (undef, $addr) = unpack_sockaddr_in($from);
      my $seen = inet_ntoa($addr);
      if ($msg =~ /^netlab-probe (\d+)\s*$/) { send($h->[1], "netlab-echo $1 $seen $srv->{netns}\n", 0, $from) }
      # never an answer to an answer (two workloads, or a workload and an echo, would bounce a
      # datagram between them for ever)
      elsif ($srv->{pod} && $msg !~ /^(?:\S+ \S+:\d+ from \S+|netlab-echo \d+ \S+ \S+)\s*$/) {
        send($h->[1], netlab_workload_line($srv, $seen) . "\n", 0, $from);
      }
    }
  } else {
    return 0;
  }
  return 1;
}

# Answer a workload's connections that have said nothing for NETLAB_QUIET_WAIT, or not finished
# a request in NETLAB_REQUEST_WAIT, with the plain line: returns the seconds until the next such
# deadline, or undef when none is pending.
sub netlab_serve_quiet {
  my ($table, $now) = @_;
  my $next;
  for my $h (values %$table) {
    next unless $h->[0] eq 'http-server' && defined $h->[5];
    my $deadline = $h->[5] + ($h->[2] eq '' ? NETLAB_QUIET_WAIT : NETLAB_REQUEST_WAIT);
    if ($deadline <= $now) {
      syswrite($h->[1], netlab_workload_line($h->[3], $h->[4]) . "\n");
      close_conn($table, $h);
    } elsif (!defined $next || $deadline - $now < $next) {
      $next = $deadline - $now;
    }
  }
  return $next;
}

1;
