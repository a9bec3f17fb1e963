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
#                 VXLAN device), sent as `ip` would send
#                 them, without starting `ip` at all;
#   exec:FILE     a program: FILE holds "argv<TAB>A<TAB>B…", optional "env<TAB>K=V" lines and a
#                 "stdin<TAB>PATH" line; its stdout goes to ERRDIR/ID.STEP.out;
#   sysctl:KEY=VALUE, settle:MS, alias:
#
# Usage: netlab-nsexec.pl PARALLEL ERRDIR < jobs
#   job line: ID <TAB> NETNS <TAB> STEP [<TAB> STEP ...]
#   (alias: read the alias of lo, netlab's ownership mark, into ERRDIR/ID.STEP.out)
#   (settle: wait up to MS milliseconds until every interface that is up is also running —
#   the kernel reports that asynchronously, after its link-watch has handled the change)
# A job that needs no program (only sysctls and ip commands spoken over rtnetlink) runs in
# this process: setns() in, do it, setns() back. Only jobs that exec a program are forked,
# PARALLEL at a time, and the parent works through the others meanwhile.
#
# Output, one line per event (short lines: atomic on a pipe):
#   start ID            the job has started
#   ok ID               every step succeeded
#   fail ID STEP CODE [OP]  step number STEP (from 0) failed with exit CODE; its stderr is in
#                       ERRDIR/ID.STEP.err; for a netlink step, OP is the op record (from 1) that failed
# SIGTERM/SIGINT/SIGUSR1: start no new job, let running ones finish.
use strict;
use warnings;

# Start-up time matters (netlab runs this a few times per `up`): no POSIX.
use constant WNOHANG => 1;
require((__FILE__ =~ s{[^/]*$}{}r) . 'netlab-setns.pl'); # netlab_setns()


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
  NDA_DST => 1, NDA_LLADDR => 2, NUD_PERMANENT => 0x80, NTF_PROXY => 0x08,
  RT_TABLE_MAIN => 254, RTPROT_BOOT => 3, RT_SCOPE_UNIVERSE => 0, RT_SCOPE_LINK => 253, RTN_UNICAST => 1,
};

my $IPV4 = qr/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
my $NAME = qr/^[A-Za-z0-9@._:-]{1,15}$/;

sub attr { my ($type, $data) = @_; my $len = 4 + length $data; pack('SS', $len, $type) . $data . ("\0" x ((4 - $len % 4) % 4)) }
sub ip4 { my @b = $_[0] =~ $IPV4; pack('C4', @b) }

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

my %ifindex;
sub ifindex {
  my ($sock, $name) = @_;
  return $ifindex{$name} if $ifindex{$name};
  my ($err, $reply) = talk($sock, RTM_GETLINK, 0, pack('CxSlLL', 0, 0, 0, 0, 0) . attr(IFLA_IFNAME, "$name\0"));
  return if $err || !defined $reply;
  return $ifindex{$name} = (unpack('CxSlLL', $reply))[2];
}

# Returns undef on success, else the message ip would print.
sub apply {
  my ($sock, $r) = @_;
  my $dev = ifindex($sock, $r->{dev}) or return "Cannot find device \"$r->{dev}\"";
  my ($err, $type, $flags, $body);
  if ($r->{op} eq 'link') {
    my $attrs = '';
    if (defined $r->{master}) {
      my $m = ifindex($sock, $r->{master}) or return "Device does not exist: $r->{master}";
      $attrs .= attr(IFLA_MASTER, pack('L', $m));
    }
    $attrs .= attr(IFLA_IFALIAS, $r->{alias}) if defined $r->{alias};
    $attrs .= attr(IFLA_MTU, pack('L', $r->{mtu})) if defined $r->{mtu};
    my $up = $r->{up} ? IFF_UP : 0;
    ($type, $flags, $body) = (RTM_NEWLINK, 0, pack('CxSlLL', 0, 0, $dev, $up, $up) . $attrs);
  } elsif ($r->{op} eq 'vxlan') {
    # a new VXLAN device bound to $dev (the underlay); its UDP socket lives in this namespace
    my $data = attr(IFLA_VXLAN_ID, pack('L', $r->{id})) . attr(IFLA_VXLAN_LINK, pack('L', $dev))
      . attr(IFLA_VXLAN_LOCAL, ip4($r->{local})) . attr(IFLA_VXLAN_PORT, pack('n', $r->{port}))
      . attr(IFLA_VXLAN_LEARNING, pack('C', $r->{learning}));
    my $attrs = attr(IFLA_IFNAME, "$r->{name}\0");
    $attrs .= attr(IFLA_ADDRESS, pack('C6', map { hex } split /:/, $r->{mac})) if defined $r->{mac};
    $attrs .= attr(IFLA_MTU, pack('L', $r->{mtu})) if defined $r->{mtu};
    $attrs .= attr(IFLA_LINKINFO, attr(IFLA_INFO_KIND, 'vxlan') . attr(IFLA_INFO_DATA, $data));
    ($type, $flags, $body) = (RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, pack('CxSlLL', 0, 0, 0, 0, 0) . $attrs);
  } elsif ($r->{op} eq 'addr') {
    ($type, $flags, $body) = (RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
      pack('CCCCL', AF_INET, $r->{len}, 0, RT_SCOPE_UNIVERSE, $dev) . attr(IFA_LOCAL, ip4($r->{ip})) . attr(IFA_ADDRESS, ip4($r->{ip}))
      . ($r->{noprefixroute} ? attr(IFA_FLAGS, pack('L', IFA_F_NOPREFIXROUTE)) : ''));
  } elsif ($r->{op} eq 'route') {
    # ip's default: link scope without a gateway, universe with one
    my $scope = defined $r->{scope} ? ($r->{scope} eq 'link' ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE) : defined $r->{via} ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    $body = pack('C8L', AF_INET, $r->{len}, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, $scope, RTN_UNICAST, $r->{onlink} ? RTNH_F_ONLINK : 0);
    $body .= attr(RTA_DST, ip4($r->{dst})) if $r->{len} > 0;
    $body .= attr(RTA_GATEWAY, ip4($r->{via})) if defined $r->{via};
    $body .= attr(RTA_OIF, pack('L', $dev));
    ($type, $flags) = (RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  } elsif ($r->{op} eq 'pneigh') {
    # a proxy entry: no link-layer address, the kernel answers ARP for it with the device's own
    ($type, $flags, $body) = (RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL,
      pack('CxxxlSCC', AF_INET, $dev, NUD_PERMANENT, NTF_PROXY, 0) . attr(NDA_DST, ip4($r->{ip})));
  } else {
    my $mac = pack('C6', map { hex } split /:/, $r->{mac});
    ($type, $flags, $body) = (RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL,
      pack('CxxxlSCC', AF_INET, $dev, NUD_PERMANENT, 0, 0) . attr(NDA_DST, ip4($r->{ip})) . attr(NDA_LLADDR, $mac));
  }
  ($err) = talk($sock, $type, $flags, $body);
  return $err ? 'RTNETLINK answers: ' . ($! = $err) : undef;
}

# Names of the interfaces that are up but not yet running (no carrier, or not yet activated).
sub links_not_running {
  my ($sock) = @_;
  my $msg = pack('LSSLL', 32, RTM_GETLINK, NLM_F_REQUEST | 0x300, ++$seq, 0) . pack('CxSlLL', 0, 0, 0, 0, 0);
  send($sock, $msg, 0, pack('SxxLL', AF_NETLINK, 0, 0)) or return ('?');
  my @down;
  while (1) {
    defined recv($sock, my $buf, 65536, 0) or return ('?');
    while (length $buf >= 16) {
      my ($len, $type) = unpack('LS', $buf);
      return @down if $type == 3 || $type == NLMSG_ERROR; # NLMSG_DONE
      my $body = substr($buf, 16, $len - 16);
      substr($buf, 0, ($len + 3) & ~3, '');
      my (undef, undef, undef, $flags) = unpack('CxSlLL', $body);
      next unless ($flags & IFF_UP) && !($flags & 0x40); # up, not IFF_RUNNING
      my ($name, $attrs) = ('?', substr($body, 16));
      while (length $attrs >= 4) {
        my ($alen, $atype) = unpack('SS', $attrs);
        last if $alen < 4;
        ($name = substr($attrs, 4, $alen - 5)) if $atype == IFLA_IFNAME;
        substr($attrs, 0, ($alen + 3) & ~3, '');
      }
      push @down, $name;
    }
  }
}

# Apply op records over rtnetlink: from a file (netlink:FILE), or given inline (netlink-ops:OPS,
# the records separated by \x1e and their fields by \x1f: one job line, no file to write and read
# for each namespace). Returns (failed op number from 1, message), or () when all applied.
sub netlink_step {
  my ($kind, $arg) = @_;
  my @lines;
  if ($kind eq 'netlink-ops') {
    @lines = map { tr/\x1f/\t/r } split /\x1e/, $arg;
  } else {
    open(my $fh, '<', $arg) or return (0, "cannot read $arg: $!");
    @lines = map { chomp; $_ } <$fh>;
  }
  my @reqs = map { parse_op($_) } grep { /\S/ } @lines;
  socket(my $sock, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) or return (0, "netlink: $!");
  bind($sock, pack('SxxLL', AF_NETLINK, 0, 0)) or return (0, "netlink: $!");
  for my $n (0 .. $#reqs) {
    my $msg = apply($sock, $reqs[$n]);
    return ($n + 1, $msg) if defined $msg;
  }
  return ();
}

# An exec step's spec file: "argv\tA\tB…", then optional "env\tK=V" and "stdin\tPATH" lines.
sub read_exec_spec {
  my ($file) = @_;
  open(my $fh, '<', $file) or return;
  my (%spec, @argv);
  while (my $line = <$fh>) {
    chomp $line;
    my ($key, @rest) = split /\t/, $line;
    next unless defined $key;
    if ($key eq 'argv') { @argv = @rest }
    elsif ($key eq 'env') { my ($k, $v) = split /=/, $rest[0], 2; $spec{env}{$k} = $v }
    elsif ($key eq 'stdin') { $spec{stdin} = $rest[0] }
  }
  return unless @argv;
  $spec{argv} = \@argv;
  return \%spec;
}

# A job is done in this process unless one of its steps runs a program.
sub inline_job { return !grep { /^exec:/ } @_ }

# Run a job's steps in namespace NETNS; returns the result line.
sub run_steps {
  my ($id, $netns, @steps) = @_;
  %ifindex = (); # interface indexes belong to one namespace
  # "." is the namespace this program runs in (tests run it inside `unshare -rn`, no root needed)
  if ($netns ne '.') {
    open(my $ns, '<', "/run/netns/$netns") or return failed($id, 0, 1, "cannot open namespace $netns: $!\n");
    netlab_setns($ns) or return failed($id, 0, 1, "setns($netns): $!\n");
  }
  for my $i (0 .. $#steps) {
    my ($kind, $arg) = split /:/, $steps[$i], 2;
    if ($kind eq 'sysctl') {
      my ($key, $value) = split /=/, $arg, 2;
      my $path = '/proc/sys/' . join('/', split /\./, $key);
      open(my $s, '>', $path) or return failed($id, $i, 1, "sysctl: cannot stat $path: $!\n");
      print $s $value;
      close($s) or return failed($id, $i, 1, "sysctl: setting $key: $!\n");
      next;
    }
    if ($kind eq 'alias') {
      my $sock;
      socket($sock, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) && bind($sock, pack('SxxLL', AF_NETLINK, 0, 0))
        or return failed($id, $i, 1, "netlink: $!\n");
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
    if ($kind eq 'settle') {
      my $sock;
      socket($sock, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) && bind($sock, pack('SxxLL', AF_NETLINK, 0, 0))
        or return failed($id, $i, 1, "netlink: $!\n");
      for (my $waited = 0; ; $waited += 20) {
        my @down = links_not_running($sock);
        last unless @down;
        return failed($id, $i, 1, "not running after $arg ms: @down\n") if $waited >= $arg;
        select(undef, undef, undef, 0.02);
      }
      next;
    }
    if ($kind eq 'netlink' || $kind eq 'netlink-ops') {
      my ($at, $msg) = netlink_step($kind, $arg);
      return failed($id, $i, 1, "$msg\n", $at) if defined $at;
      next;
    }
    return failed($id, $i, 2, "unknown step kind $kind\n") unless $kind eq 'exec';
    my $spec = read_exec_spec($arg) or return failed($id, $i, 2, "cannot read exec spec $arg\n");
    my $pid = fork() // return failed($id, $i, 1, "fork: $!\n");
    if ($pid == 0) {
      open(STDIN, '<', $spec->{stdin} // '/dev/null') or CORE::exit(126);
      open(STDOUT, '>', "$errdir/$id.$i.out");
      open(STDERR, '>', "$errdir/$id.$i.err");
      $ENV{$_} = $spec->{env}{$_} for keys %{$spec->{env} // {}};
      my @cmd = @{$spec->{argv}};
      exec { $cmd[0] } @cmd or CORE::exit(127);
    }
    waitpid($pid, 0);
    my $code = $? & 127 ? 128 + ($? & 127) : $? >> 8;
    return failed($id, $i, $code) if $code != 0;
  }
  return "ok $id\n";
}

open(my $home, '<', '/proc/self/ns/net') or die "netlab-nsexec: cannot open /proc/self/ns/net: $!\n";
my (@forked, @inline);
while (my $line = <STDIN>) {
  chomp $line;
  next if $line eq '';
  my @job = split /\t/, $line;
  push @{inline_job(@job[2 .. $#job]) ? \@inline : \@forked}, \@job;
}

# With many program-free jobs, a second worker takes half of them, so both cores work
# (what costs time there is the kernel, e.g. the first lookup of a namespace's /proc/sys).
my $worker = 0;
if (@inline >= 64) {
  my @mine = @inline[grep { $_ % 2 } 0 .. $#inline];
  $worker = fork() // die "netlab-nsexec: fork: $!\n";
  if ($worker == 0) {
    for my $job (@mine) {
      last if $stop;
      print "start $job->[0]\n";
      print run_steps(@$job);
      netlab_setns($home) or die "netlab-nsexec: cannot return to the original namespace: $!\n";
    }
    exit 0;
  }
  @inline = @inline[grep { !($_ % 2) } 0 .. $#inline];
}

my $running = 0;
my $reaped = sub { my ($pid) = @_; $running-- if $pid > 0 && $pid != $worker };
while ((@forked || @inline) && !$stop) {
  while ($running > 0 && (my $pid = waitpid(-1, WNOHANG)) > 0) { $reaped->($pid) }
  if (@forked && $running < $parallel) {
    my $job = shift @forked;
    my $pid = fork();
    die "netlab-nsexec: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
      $SIG{$_} = 'DEFAULT' for qw(TERM INT USR1);
      print run_steps(@$job);
      exit 0;
    }
    print "start $job->[0]\n";
    $running++;
  } elsif (@inline) {
    my $job = shift @inline;
    print "start $job->[0]\n";
    print run_steps(@$job);
    netlab_setns($home) or die "netlab-nsexec: cannot return to the original namespace: $!\n";
  } else {
    my $pid = wait();
    $running = 0 if $pid < 0;
    $reaped->($pid);
  }
}
1 while wait() > 0;
exit 0;
