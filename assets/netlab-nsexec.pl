#!/usr/bin/perl
# netlab-nsexec: run many small jobs, each inside one network namespace, a few at a time.
#
# Why this exists: Node.js cannot call setns(2), and starting one `ip -n NS` per namespace
# costs a mount-namespace copy each time (it grows with the number of namespaces). Here a
# forked child enters the namespace with setns(2), writes sysctls directly, and execs the
# job's programs (`iptables-restore --noflush`, `ip -batch -`, …) already inside it.
#
# It knows kinds of steps, not tools: the tool drivers (src/tools) turn plan actions into
#   netlink:FILE  rtnetlink requests, one op record a line ("route<TAB>dst=…<TAB>len=…<TAB>dev=…"),
#                 or netlink-ops:OPS, the same records inline (\x1e between records, \x1f for TAB):
#                 the plan's link set / addr add / route add / neigh add (and link add of a
#                 VXLAN device, and bridge's fdb append), sent as `ip` and `bridge` would send
#                 them, without starting `ip` at all;
#   exec:FILE     a program: FILE holds "argv<TAB>A<TAB>B…", optional "env<TAB>K=V" lines and a
#                 "stdin<TAB>PATH" or "input<TAB>HEX" line; its stdout goes to ERRDIR/ID.STEP.out;
#                 or exec-ops:SPEC, the same lines inline (as for netlink-ops);
#   sysctl:KEY=VALUE, settle:MS, alias:, linksync:
#
# Usage: NETLAB_NSEXEC_PROTOCOL=1 netlab-nsexec.pl PARALLEL ERRDIR < jobs   (docs/runner-protocol.md)
#   job line: ID <TAB> NETNS <TAB> STEP [<TAB> STEP ...]
#   (alias: read the alias of lo, netlab's ownership mark, into ERRDIR/ID.STEP.out)
#   (settle: wait up to MS milliseconds until every interface that is up is also running —
#   the kernel reports that asynchronously, after its link-watch has handled the change)
#   (linksync: have the kernel's link watch handle every link of the namespace now; see sync_links)
# Every job runs in this process: setns() in, do its steps, setns() back. A step that runs a
# program forks it inside the namespace and parks the job; the process goes on with other jobs,
# and the parked one with its next step once the program has ended well. At most PARALLEL
# programs at once; with many jobs, a second worker process takes half of them.
#
# Output, one line per event (short lines: atomic on a pipe):
#   start ID            the job has started
#   ok ID               every step succeeded
#   fail ID STEP CODE [OP [ALSO]]  step number STEP (from 0) failed with exit CODE; its stderr is
#                       in ERRDIR/ID.STEP.err; for a netlink step, OP is the op record (from 1) that
#                       failed, and ALSO ("N,M,…") the ones after it that were made anyway: they
#                       went to the kernel in the same window (see flush)
# SIGTERM/SIGINT/SIGUSR1: start no new job, let running ones finish.
use strict;
use warnings;

# The protocol this script speaks with src/exec/fanout.ts (docs/runner-protocol.md). The caller
# names its own in NETLAB_NSEXEC_PROTOCOL (unset counts as 1, the protocol as it was before it had
# a number); any other is refused before a job is read. The variable is removed: the programs of
# exec steps get the environment they always got.
use constant NSEXEC_PROTOCOL => 1;
my $caller_protocol = (delete $ENV{NETLAB_NSEXEC_PROTOCOL} // 1) =~ s/[\x00-\x1f]/?/gr;
if ($caller_protocol ne NSEXEC_PROTOCOL) {
  print STDERR "$0 speaks protocol ", NSEXEC_PROTOCOL, ", netlab expects $caller_protocol: reinstall netlab\n";
  exit 2;
}

# Start-up time matters (netlab runs this a few times per `up`): no POSIX.
use constant WNOHANG => 1;
require((__FILE__ =~ s{[^/]*$}{}r) . 'netlab-setns.pl'); # netlab_setns(), $NETLAB_ARCH
our $NETLAB_ARCH;


# A namespace's first /proc/sys lookup walks a kernel hash chain that holds one cached dentry per
# network namespace whose /proc/sys was ever looked up through this proc mount (the same name
# under the same parent; they stay until their namespace goes): 0.2 ms each at 500 namespaces, 3 to
# 6 ms at 10,000, so a lab's sysctl stage grew with the square of its size. Our own proc mount, in
# our own mount namespace (slave: nothing of it reaches the host's), made anew every PROC_FRESH
# namespaces, keeps that chain short: flat 0.1 ms (bench/README.md). Where that cannot be done (no
# syscall number for this architecture, no permission) the shared /proc serves, only slower.
use constant {PROC_FRESH => 64, CLONE_NEWNS => 0x20000, MS_REC => 0x4000, MS_SLAVE => 0x80000, MS_PROC => 0xe, MNT_DETACH => 2};
my %MOUNT_SYSCALLS = (x86_64 => [272, 165, 166], aarch64 => [97, 40, 39], riscv64 => [97, 40, 39]); # unshare, mount, umount2
my ($proc_state, $proc_uses) = (0, 0); # 0: not tried yet, 1: ours, -1: the shared /proc
sub fresh_proc {
  return if $proc_state < 0 || ($proc_state == 1 && ++$proc_uses % PROC_FRESH);
  my ($unshare, $mount, $umount) = @{$MOUNT_SYSCALLS{$NETLAB_ARCH} // [0, 0, 0]};
  my ($none, $root, $proc) = ('none', '/', '/proc');
  if ($proc_state == 0) {
    $proc_state = -1;
    return unless $unshare && syscall($unshare, CLONE_NEWNS) == 0;
    return unless syscall($mount, $none, $root, 0, MS_REC | MS_SLAVE, 0) == 0;
  } else {
    syscall($umount, $proc, MNT_DETACH);
  }
  my $fs = 'proc';
  $proc_state = syscall($mount, $fs, $proc, $fs, MS_PROC, 0) == 0 ? 1 : -1;
}

my ($parallel, $errdir) = @ARGV;
die "usage: netlab-nsexec.pl PARALLEL ERRDIR < jobs\n" unless $parallel && $parallel =~ /^\d+$/ && $errdir && -d $errdir;
$| = 1;

my $stop = 0;
$SIG{$_} = sub { $stop = 1 } for qw(TERM INT USR1);

# A failed step: write its message where Node will read it, and say which step failed.
sub failed {
  my ($id, $step, $code, $msg, $at) = @_;
  if (defined $msg && open(my $e, '>', "$errdir/$id.$step.err")) {
    print $e $msg;
    close $e;
  }
  return "fail $id $step $code" . (defined $at ? " $at" : '') . "\n";
}

# ---- rtnetlink, for the commands netlab's plans use ----------------------------------------
use constant {
  AF_INET => 2, AF_NETLINK => 16, SOCK_RAW => 3, NETLINK_ROUTE => 0,
  NLMSG_ERROR => 2, NLM_F_REQUEST => 1, NLM_F_ACK => 4, NLM_F_EXCL => 0x200, NLM_F_CREATE => 0x400,
  RTM_NEWLINK => 16, RTM_GETLINK => 18, RTM_NEWADDR => 20, RTM_NEWROUTE => 24, RTM_NEWNEIGH => 28,
  IFLA_ADDRESS => 1, IFLA_IFNAME => 3, IFLA_MTU => 4, IFLA_MASTER => 10, IFLA_LINKINFO => 18, IFLA_IFALIAS => 20, IFF_UP => 1,
  IFLA_INFO_KIND => 1, IFLA_INFO_DATA => 2,
  IFLA_VXLAN_ID => 1, IFLA_VXLAN_LINK => 3, IFLA_VXLAN_LOCAL => 4, IFLA_VXLAN_LEARNING => 7, IFLA_VXLAN_PORT => 15,
  RTNH_F_ONLINK => 4,
  IFA_ADDRESS => 1, IFA_LOCAL => 2, IFA_FLAGS => 8, IFA_F_NOPREFIXROUTE => 0x200, RTA_DST => 1, RTA_OIF => 4, RTA_GATEWAY => 5,
  NDA_DST => 1, NDA_LLADDR => 2, NUD_NOARP => 0x40, NUD_PERMANENT => 0x80, NTF_SELF => 0x02, NTF_PROXY => 0x08,
  AF_BRIDGE => 7, NLM_F_APPEND => 0x800,
  RT_TABLE_MAIN => 254, RTPROT_BOOT => 3, RT_SCOPE_UNIVERSE => 0, RT_SCOPE_LINK => 253, RTN_UNICAST => 1,
};


sub attr { my ($type, $data) = @_; my $len = 4 + length $data; pack('SS', $len, $type) . $data . ("\0" x ((4 - $len % 4) % 4)) }
sub ip4 { pack('C4', split /\./, $_[0]) } # the ip driver (src/tools/ip.ts) checked it

# One op record (written by src/tools/ip.ts): the op, then key=value fields, tab-separated.
# Nothing here parses ip's syntax: the records are already what rtnetlink needs.
sub parse_op {
  my ($op, @fields) = split /\t/, $_[0];
  my %r = (op => $op, map { split /=/, $_, 2 } @fields);
  return \%r;
}

my $seq = 0;
# Send one request and wait for the kernel's answer: 0, or an errno.
sub talk {
  my ($sock, $type, $flags, $body) = @_;
  my $msg = pack('LSSLL', 16 + length $body, $type, $flags | NLM_F_REQUEST | NLM_F_ACK, ++$seq, 0) . $body;
  send($sock, $msg, 0, pack('SxxLL', AF_NETLINK, 0, 0)) or return ($! + 0, undef);
  while (1) {
    defined recv($sock, my $buf, 65536, 0) or return ($! + 0, undef);
    while (length $buf >= 16) {
      my ($len, $mtype, undef, $mseq) = unpack('LSSL', $buf);
      last if $len < 16;
      my $payload = substr($buf, 16, $len - 16);
      substr($buf, 0, ($len + 3) & ~3, '');
      next unless $mseq == $seq;
      return (-unpack('l', $payload), undef) if $mtype == NLMSG_ERROR;
      return (0, $payload); # a reply (RTM_GETLINK); its ack is not requested separately
    }
  }
}

# A device's index by name, as if_nametoindex(3) finds it: the SIOCGIFINDEX ioctl on the
# namespace's netlink socket (an RTM_GETLINK would make the kernel write out the whole link,
# statistics and all, ~2,500 times at 200 x 5).
use constant SIOCGIFINDEX => 0x8933;
my %ifindex;
sub ifindex {
  my ($nl, $name) = @_;
  return $ifindex{$name} if $ifindex{$name};
  my $ifr = pack('a16x24', $name);
  ioctl($nl->{sock}, SIOCGIFINDEX, $ifr) or return;
  return $ifindex{$name} = unpack('x16l', $ifr);
}

# One op record as a request: (type, flags, body), or (undef, the message ip would print).
sub encode {
  my ($nl, $r) = @_;
  my $dev = ifindex($nl, $r->{dev}) or return (undef, "Cannot find device \"$r->{dev}\"");
  my $op = $r->{op};
  if ($op eq 'route') {
    # ip's default: link scope without a gateway, universe with one
    my $scope = defined $r->{scope} ? ($r->{scope} eq 'link' ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE) : defined $r->{via} ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    # the 4-byte attributes packed in place (header, data: no padding), as this runs 90k times at 200 x 5
    my $via = $r->{via};
    return (RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL,
      pack('C8L', AF_INET, $r->{len}, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, $scope, RTN_UNICAST, $r->{onlink} ? RTNH_F_ONLINK : 0)
      . ($r->{len} > 0 ? pack('SSC4', 8, RTA_DST, split /\./, $r->{dst}) : '')
      . (defined $via ? pack('SSC4', 8, RTA_GATEWAY, split /\./, $via) : '') . pack('SSL', 8, RTA_OIF, $dev));
  }
  if ($op eq 'neigh') {
    # ndmsg, NDA_DST (4 bytes), NDA_LLADDR (6 bytes and 2 of padding)
    return (RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL,
      pack('CxxxlSCCSSC4SSH12xx', AF_INET, $dev, NUD_PERMANENT, 0, 0, 8, NDA_DST, (split /\./, $r->{ip}), 10, NDA_LLADDR, $r->{mac} =~ tr/://dr));
  }
  if ($op eq 'link') {
    my $attrs = '';
    if (defined $r->{master}) {
      my $m = ifindex($nl, $r->{master}) or return (undef, "Device does not exist: $r->{master}");
      $attrs .= attr(IFLA_MASTER, pack('L', $m));
    }
    $attrs .= attr(IFLA_IFALIAS, $r->{alias}) if defined $r->{alias};
    $attrs .= attr(IFLA_MTU, pack('L', $r->{mtu})) if defined $r->{mtu};
    my $up = $r->{up} ? IFF_UP : 0;
    return (RTM_NEWLINK, 0, pack('CxSlLL', 0, 0, $dev, $up, $up) . $attrs);
  }
  if ($op eq 'vxlan') {
    # a new VXLAN device bound to $dev (the underlay); its UDP socket lives in this namespace
    my $data = attr(IFLA_VXLAN_ID, pack('L', $r->{id})) . attr(IFLA_VXLAN_LINK, pack('L', $dev))
      . attr(IFLA_VXLAN_LOCAL, ip4($r->{local})) . attr(IFLA_VXLAN_PORT, pack('n', $r->{port}))
      . attr(IFLA_VXLAN_LEARNING, pack('C', $r->{learning}));
    my $attrs = attr(IFLA_IFNAME, "$r->{name}\0");
    $attrs .= attr(IFLA_ADDRESS, pack('C6', map { hex } split /:/, $r->{mac})) if defined $r->{mac};
    $attrs .= attr(IFLA_MTU, pack('L', $r->{mtu})) if defined $r->{mtu};
    $attrs .= attr(IFLA_LINKINFO, attr(IFLA_INFO_KIND, 'vxlan') . attr(IFLA_INFO_DATA, $data));
    return (RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, pack('CxSlLL', 0, 0, 0, 0, 0) . $attrs);
  }
  if ($op eq 'addr') {
    return (RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
      pack('CCCCL', AF_INET, $r->{len}, 0, RT_SCOPE_UNIVERSE, $dev) . attr(IFA_LOCAL, ip4($r->{ip})) . attr(IFA_ADDRESS, ip4($r->{ip}))
      . ($r->{noprefixroute} ? attr(IFA_FLAGS, pack('L', IFA_F_NOPREFIXROUTE)) : ''));
  }
  if ($op eq 'fdb') {
    # a forwarding entry of a bridge-like device (VXLAN: MAC -> the remote underlay address), as
    # `bridge fdb append` sends it: the device's own table (self), permanent
    return (RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_APPEND,
      pack('CxxxlSCCSSH12xxSSC4', AF_BRIDGE, $dev, NUD_NOARP | NUD_PERMANENT, NTF_SELF, 0, 10, NDA_LLADDR, $r->{mac} =~ tr/://dr, 8, NDA_DST, split /\./, $r->{dst}));
  }
  # pneigh: a proxy entry, no link-layer address; the kernel answers ARP for it with the device's own
  return (RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, pack('CxxxlSCC', AF_INET, $dev, NUD_PERMANENT, NTF_PROXY, 0) . attr(NDA_DST, ip4($r->{ip})));
}

# ---- the pipeline: requests go out WINDOW at a time, in one send() ------------------------------
# Waiting for an answer after every request cost two syscalls per op (90k ops at 200 x 5). The
# kernel handles the messages of one send() in order, synchronously, and answers a request without
# NLM_F_ACK only when it fails; so only the window's last request asks for its ack, and by the
# time it is read every error of the window has been read before it. The kernel does not stop at
# a failed request: the ones after it in its window are still made, and are reported as applied
# too (see "fail" above), so the caller knows exactly what exists. WINDOW keeps the worst case (a
# window of errors) well inside the socket's receive buffer: a dropped answer would be a lost result.
use constant {WINDOW => 128, WINDOW_BYTES => 32768, SOL_NETLINK => 270, NETLINK_CAP_ACK => 10};
my $KERNEL = pack('SxxLL', AF_NETLINK, 0, 0);

# A socket for requests to the kernel's rtnetlink, in the namespace this process is in; undef on failure ($!).
sub route_socket {
  socket(my $sock, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) or return;
  bind($sock, $KERNEL) or return;
  return $sock;
}

sub nl_open {
  my $sock = route_socket() or return;
  # errors come back without a copy of the request: small answers
  setsockopt($sock, SOL_NETLINK, NETLINK_CAP_ACK, pack('l', 1));
  return {sock => $sock, buf => '', ops => [], seq0 => 0};
}

sub queue {
  my ($nl, $op, $type, $flags, $body) = @_;
  $nl->{seq0} = $seq + 1 unless @{$nl->{ops}};
  $nl->{last} = length $nl->{buf};
  $nl->{buf} .= pack('LSSLL', 16 + length $body, $type, $flags | NLM_F_REQUEST, ++$seq, 0) . $body;
  push @{$nl->{ops}}, $op;
}

# Send what is queued and read the answers: () when every request was made, else (op that failed
# first, its message, the ops after it in the window that were made anyway).
sub flush {
  my ($nl) = @_;
  my @ops = @{$nl->{ops}} or return ();
  my ($buf, $seq0) = ($nl->{buf}, $nl->{seq0});
  ($nl->{buf}, $nl->{ops}) = ('', []);
  # the last request asks for its ack: its answer ends the window (flags: bytes 6-7 of the header)
  my $at = $nl->{last} + 6;
  substr($buf, $at, 2) = pack('S', unpack('S', substr($buf, $at, 2)) | NLM_F_ACK);
  send($nl->{sock}, $buf, 0, $KERNEL) or return ($ops[0], 'RTNETLINK answers: ' . $!, '');
  my %err; # index in the window => errno
  my $done = 0;
  until ($done) {
    defined recv($nl->{sock}, my $in, 65536, 0) or return ($ops[0], "netlink: $! (results of " . @ops . ' requests lost)', '');
    while (length $in >= 16) {
      my ($len, $mtype, undef, $mseq) = unpack('LSSL', $in);
      last if $len < 16;
      my $i = $mseq - $seq0;
      if ($mtype == NLMSG_ERROR && $i >= 0 && $i <= $#ops) {
        my $e = -unpack('l', substr($in, 16, 4));
        $err{$i} = $e if $e;
        $done = 1 if $i == $#ops;
      }
      substr($in, 0, ($len + 3) & ~3, '');
    }
  }
  return () unless %err;
  my ($first) = sort { $a <=> $b } keys %err;
  my $also = join(',', map { $ops[$_] } grep { !$err{$_} } $first + 1 .. $#ops);
  return ($ops[$first], 'RTNETLINK answers: ' . ($! = $err{$first}), $also);
}

# An RTM_GETLINK request's body: link INDEX (0: every link, in a dump), without its statistics
# (IFLA_EXT_MASK: RTEXT_FILTER_SKIP_STATS): they are most of what the kernel would write.
use constant {IFLA_EXT_MASK => 29, RTEXT_FILTER_SKIP_STATS => 1 << 3};
sub getlink_body { pack('CxSlLL', 0, 0, $_[0], 0, 0) . attr(IFLA_EXT_MASK, pack('L', RTEXT_FILTER_SKIP_STATS)) }

# Every link of this namespace: [index, flags, name], from one dump; undef if the dump failed.
sub links {
  my ($sock) = @_;
  my $body = getlink_body(0);
  my $msg = pack('LSSLL', 16 + length $body, RTM_GETLINK, NLM_F_REQUEST | 0x300, ++$seq, 0) . $body;
  send($sock, $msg, 0, $KERNEL) or return;
  my @links;
  while (1) {
    defined recv($sock, my $buf, 65536, 0) or return;
    while (length $buf >= 16) {
      my ($len, $type) = unpack('LS', $buf);
      return \@links if $type == 3; # NLMSG_DONE
      return if $type == NLMSG_ERROR;
      my $body = substr($buf, 16, $len - 16);
      substr($buf, 0, ($len + 3) & ~3, '');
      my (undef, undef, $index, $flags) = unpack('CxSlLL', $body);
      my ($name, $attrs) = ('?', substr($body, 16));
      while (length $attrs >= 4) {
        my ($alen, $atype) = unpack('SS', $attrs);
        last if $alen < 4;
        ($name = substr($attrs, 4, $alen - 5)) if $atype == IFLA_IFNAME;
        substr($attrs, 0, ($alen + 3) & ~3, '');
      }
      push @links, [$index, $flags, $name];
    }
  }
}

# Names of the interfaces that are up but not yet running (no carrier, or not yet activated).
sub links_not_running {
  my ($sock) = @_;
  my $links = links($sock) or return ('?');
  return map { $_->[2] } grep { ($_->[1] & IFF_UP) && !($_->[1] & 0x40) } @$links; # up, not IFF_RUNNING
}

# The kernel's link watch: a new veth end (or any link whose carrier changed) waits on one global
# list until the kernel's link-watch work handles it. Every time a link comes up, that work walks
# the whole list, holding the lock every link change needs (RTNL): with 20,000 new cable ends
# waiting, at 10,000 pods, that walk and the wait for its lock were 40% of the CPU time of the
# stage that brings them up. Asking for a single link (RTM_GETLINK by index) handles that link's entry at once
# (the kernel syncs it so as not to report a state it has not applied yet). So before the stage,
# every link of every namespace is asked for once: the list is empty when the stage starts.
use constant SYNC_WINDOW => 32; # answers of ~1 KB each: well inside the socket's receive buffer
sub sync_links {
  my ($sock) = @_;
  my $links = links($sock) or return 'netlink: cannot list the links' . ($! ? ": $!" : '');
  my @index = map { $_->[0] } @$links;
  while (my @w = splice(@index, 0, SYNC_WINDOW)) {
    my $buf = join '', map {
      my $body = getlink_body($_);
      pack('LSSLL', 16 + length $body, RTM_GETLINK, NLM_F_REQUEST, ++$seq, 0) . $body
    } @w;
    send($sock, $buf, 0, $KERNEL) or return "netlink: $!";
    my $answers = 0;
    while ($answers < @w) {
      defined recv($sock, my $in, 65536, 0) or return "netlink: $!";
      while (length $in >= 16) {
        my ($len) = unpack('L', $in);
        last if $len < 16;
        $answers++; # a link, or an error (the link went meanwhile): either way, handled
        substr($in, 0, ($len + 3) & ~3, '');
      }
    }
  }
  return;
}

# Apply op records over rtnetlink: from a file (netlink:FILE), or given inline (netlink-ops:OPS,
# the records separated by \x1e and their fields by \x1f: one job line, no file to write and read
# for each namespace). Returns (failed op number from 1, message, ops made after it: "N,M"), or ()
# when all were made.
sub netlink_step {
  my ($kind, $arg) = @_;
  my @lines;
  if ($kind eq 'netlink-ops') {
    @lines = map { tr/\x1f/\t/r } split /\x1e/, $arg;
  } else {
    open(my $fh, '<', $arg) or return (0, "cannot read $arg: $!", '');
    @lines = map { chomp; $_ } <$fh>;
  }
  my @reqs = map { parse_op($_) } grep { /\S/ } @lines;
  my $nl = nl_open() or return (0, "netlink: $!", '');
  for my $n (0 .. $#reqs) {
    my $r = $reqs[$n];
    # a name not looked up yet may be a device that a queued request makes (a VXLAN device)
    if (!$ifindex{$r->{dev}} || (defined $r->{master} && !$ifindex{$r->{master}})) {
      my @f = flush($nl);
      return @f if @f;
    }
    my @req = encode($nl, $r);
    return ($n + 1, $req[1], '') unless defined $req[0];
    queue($nl, $n + 1, @req);
    if (@{$nl->{ops}} >= WINDOW || length $nl->{buf} >= WINDOW_BYTES) {
      my @f = flush($nl);
      return @f if @f;
    }
  }
  return flush($nl);
}

# An exec step's spec: "argv\tA\tB…", then optional "env\tK=V", "stdin\tPATH" and "input\tHEX"
# (what to write to its stdin) lines; from a file (exec:FILE), or inline (exec-ops:SPEC, lines
# separated by \x1e and fields by \x1f, as for netlink-ops).
sub read_exec_spec {
  my ($kind, $arg) = @_;
  my @lines;
  if ($kind eq 'exec-ops') {
    @lines = map { tr/\x1f/\t/r } split /\x1e/, $arg;
  } else {
    open(my $fh, '<', $arg) or return;
    @lines = <$fh>;
  }
  my (%spec, @argv);
  for my $line (@lines) {
    chomp $line;
    my ($key, @rest) = split /\t/, $line;
    next unless defined $key;
    if ($key eq 'argv') { @argv = @rest }
    elsif ($key eq 'env') { my ($k, $v) = split /=/, $rest[0], 2; $spec{env}{$k} = $v }
    elsif ($key eq 'stdin') { $spec{stdin} = $rest[0] }
    elsif ($key eq 'input') { $spec{input} = pack('H*', $rest[0] // '') }
  }
  return unless @argv;
  $spec{argv} = \@argv;
  return \%spec;
}

# A program runs without this process waiting for it (a node's iptables-restore takes ~30 ms,
# mostly waiting for the kernel): its job is parked, pid => [job, step], and goes on with the
# next step when the program has ended well (@resume: [job, step]).
my (%program, @resume);

# Run a job's steps from step FROM in its namespace; returns the result line, or '' when it is
# parked on a program.
sub run_steps {
  my ($job, $from) = @_;
  my ($id, $netns, @steps) = @$job;
  %ifindex = (); # interface indexes belong to one namespace
  # "." is the namespace this program runs in (tests run it inside `unshare -rn`, no root needed)
  if ($netns ne '.') {
    open(my $ns, '<', "/run/netns/$netns") or return failed($id, 0, 1, "cannot open namespace $netns: $!\n");
    netlab_setns($ns) or return failed($id, 0, 1, "setns($netns): $!\n");
  }
  my $fresh = $netns eq '.';
  for my $i ($from .. $#steps) {
    my ($kind, $arg) = split /:/, $steps[$i], 2;
    if ($kind eq 'sysctl') {
      fresh_proc() unless $fresh++;
      my ($key, $value) = split /=/, $arg, 2;
      my $path = '/proc/sys/' . join('/', split /\./, $key);
      open(my $s, '>', $path) or return failed($id, $i, 1, "sysctl: cannot stat $path: $!\n");
      print $s $value;
      close($s) or return failed($id, $i, 1, "sysctl: setting $key: $!\n");
      next;
    }
    if ($kind eq 'alias') {
      my $sock = route_socket() or return failed($id, $i, 1, "netlink: $!\n");
      my ($err, $reply) = talk($sock, RTM_GETLINK, 0, pack('CxSlLL', 0, 0, 0, 0, 0) . attr(IFLA_IFNAME, "lo\0"));
      return failed($id, $i, 1, "lo: $!\n") if $err || !defined $reply;
      my ($alias, $attrs) = ('', substr($reply, 16));
      while (length $attrs >= 4) {
        my ($alen, $atype) = unpack('SS', $attrs);
        last if $alen < 4;
        ($alias = substr($attrs, 4, $alen - 4)) =~ s/\0+$// if $atype == IFLA_IFALIAS;
        substr($attrs, 0, ($alen + 3) & ~3, '');
      }
      open(my $o, '>', "$errdir/$id.$i.out") or return failed($id, $i, 1, "$errdir: $!\n");
      print $o $alias;
      close $o;
      next;
    }
    if ($kind eq 'linksync') {
      my $sock = route_socket() or return failed($id, $i, 1, "netlink: $!\n");
      my $err = sync_links($sock);
      return failed($id, $i, 1, "$err\n") if defined $err;
      next;
    }
    if ($kind eq 'settle') {
      my $sock = route_socket() or return failed($id, $i, 1, "netlink: $!\n");
      for (my $waited = 0; ; $waited += 20) {
        my @down = links_not_running($sock);
        last unless @down;
        return failed($id, $i, 1, "not running after $arg ms: @down\n") if $waited >= $arg;
        select(undef, undef, undef, 0.02);
      }
      next;
    }
    if ($kind eq 'netlink' || $kind eq 'netlink-ops') {
      my ($at, $msg, $also) = netlink_step($kind, $arg);
      return failed($id, $i, 1, "$msg\n", $also eq '' ? $at : "$at $also") if defined $at;
      next;
    }
    return failed($id, $i, 2, "unknown step kind $kind\n") unless $kind eq 'exec' || $kind eq 'exec-ops';
    my $spec = read_exec_spec($kind, $arg) or return failed($id, $i, 2, "cannot read exec spec $arg\n");
    # the program keeps the namespace it was forked in
    wait_for_slot();
    my $pid = spawn($spec, $id, $i) // return failed($id, $i, 1, "fork: $!\n");
    $program{$pid} = [$job, $i];
    return '';
  }
  return "ok $id\n";
}

sub exit_code { my ($status) = @_; $status & 127 ? 128 + ($status & 127) : $status >> 8 }

# Fork and exec a step's program (in the namespace this process is in); its pid, or undef.
sub spawn {
  my ($spec, $id, $i) = @_;
  my ($in, $feed);
  pipe($in, $feed) or return if defined $spec->{input};
  my $pid = fork() // return;
  if ($pid == 0) {
    if ($in) { close $feed; open(STDIN, '<&', $in) or CORE::exit(126) }
    else { open(STDIN, '<', $spec->{stdin} // '/dev/null') or CORE::exit(126) }
    open(STDOUT, '>', "$errdir/$id.$i.out");
    open(STDERR, '>', "$errdir/$id.$i.err");
    $ENV{$_} = $spec->{env}{$_} for keys %{$spec->{env} // {}};
    my @cmd = @{$spec->{argv}};
    exec { $cmd[0] } @cmd or CORE::exit(127);
  }
  if ($in) {
    # small (a node's rules, a CNI config): the pipe takes it at once; a program that does not
    # read it all just ends, and its exit code says how it went
    close $in;
    local $SIG{PIPE} = 'IGNORE';
    print $feed $spec->{input};
    close $feed;
  }
  return $pid;
}

# A program has ended: its job failed, is done, or goes on (in the main loop: this may run
# while another job is in its namespace).
sub reaped {
  my ($pid, $status) = @_;
  my $p = delete $program{$pid} or return;
  my ($job, $i) = @$p;
  my $code = exit_code($status);
  if ($code) { print failed($job->[0], $i, $code) }
  elsif ($i == $#$job - 2) { print "ok $job->[0]\n" }
  else { push @resume, [$job, $i + 1] }
}

# At most PARALLEL programs at once.
sub wait_for_slot {
  while (keys(%program) >= $parallel) {
    my $pid = wait();
    last if $pid < 0;
    reaped($pid, $?);
  }
}

sub reap_ended { while ((my $pid = waitpid(-1, WNOHANG)) > 0) { reaped($pid, $?) } }

open(my $home, '<', '/proc/self/ns/net') or die "netlab-nsexec: cannot open /proc/self/ns/net: $!\n";
my @jobs;
while (my $line = <STDIN>) {
  chomp $line;
  next if $line eq '';
  push @jobs, [split /\t/, $line];
}

# Run a job (from step FROM) in this process: setns() in, do it, setns() back.
sub run_in {
  my ($job, $from) = @_;
  print run_steps($job, $from);
  netlab_setns($home) or die "netlab-nsexec: cannot return to the original namespace: $!\n";
}

# Work through the jobs: parked ones go on first, then new ones (none once told to stop),
# then wait for the programs still running.
sub drive {
  my @queue = @_;
  while (1) {
    reap_ended() if %program;
    if (@resume) { run_in(@{shift @resume}) }
    elsif (@queue && !$stop) {
      my $job = shift @queue;
      print "start $job->[0]\n";
      run_in($job, 0);
    } elsif (%program) {
      my $pid = wait();
      last if $pid < 0;
      reaped($pid, $?);
    } else { last }
  }
}

# With many jobs, a second worker takes half of them, so both cores work (what costs time
# there is the kernel, e.g. the first lookup of a namespace's /proc/sys).
my $worker = 0;
if (@jobs >= 64) {
  my @mine = @jobs[grep { $_ % 2 } 0 .. $#jobs];
  $worker = fork() // die "netlab-nsexec: fork: $!\n";
  if ($worker == 0) {
    drive(@mine);
    exit 0;
  }
  @jobs = @jobs[grep { !($_ % 2) } 0 .. $#jobs];
}
drive(@jobs);
waitpid($worker, 0) if $worker;
exit 0;
