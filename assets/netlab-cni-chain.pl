#!/usr/bin/perl
# netlab-cni-chain: the part of netlab's CNI runtime that runs plugins, inside a node's network
# namespace (netlab-nsexec enters it). Reads a JSON list of plugin calls on stdin, as the cni
# tool driver (src/tools/cni.ts) prepares them, and runs them in order, as the CNI spec asks a
# runtime to: the plugin gets the CNI_* variables and its configuration on stdin, with
# "prevResult" set to the previous plugin's result (ADD) or the cached result (CHECK, DEL); the
# chain's last ADD result is cached in libcni's layout and the chain's last DEL removes it.
# CNI 1.1's network verbs have no container: STATUS (before a node's first ADD) and GC (after
# its DELs) carry the node instead of the pod, and no cache. ADD, CHECK and STATUS stop at the
# first error; DEL and GC go on (they must clean up what they can) and report the first error at
# the end. A failure is reported on stderr as
#   call N failed: plugin TYPE (pod POD, CNI_COMMAND=CMD): <the plugin's error result, verbatim>
# (node NODE for STATUS and GC; a STATUS error 50 or 51 says what the spec means by it first)
# and the exit code is 1. Runs as a separate program so the executor needs no CNI knowledge.
# Usage: NETLAB_CNI_CHAIN_PROTOCOL=2 perl netlab-cni-chain.pl < calls   (docs/runner-protocol.md)
use strict;
use warnings;
use JSON::PP;
use File::Path qw(make_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);

# The protocol this script speaks with src/tools/cni.ts (docs/runner-protocol.md). The driver
# names its own in NETLAB_CNI_CHAIN_PROTOCOL (unset counts as 1, the protocol as it was before it
# had a number); any other is refused before the calls are read, and none is run.
use constant CNI_CHAIN_PROTOCOL => 2;
my $caller_protocol = (delete $ENV{NETLAB_CNI_CHAIN_PROTOCOL} // 1) =~ s/[\x00-\x1f]/?/gr;
if ($caller_protocol ne CNI_CHAIN_PROTOCOL) {
  print STDERR "$0 speaks protocol ", CNI_CHAIN_PROTOCOL, ", netlab expects $caller_protocol: reinstall netlab\n";
  exit 2;
}

my $json = JSON::PP->new->canonical;
my $calls = $json->decode(do { local $/; <STDIN> });
my $tmp = tempdir(CLEANUP => 1);

sub slurp {
  my ($path) = @_;
  open(my $fh, '<', $path) or return undef;
  local $/;
  return scalar <$fh>;
}

# Run one plugin: returns (exit code, stdout, stderr).
sub run_plugin {
  my ($file, $env, $stdin) = @_;
  open(my $in, '>', "$tmp/in") or die "netlab-cni-chain: $tmp/in: $!\n";
  print $in $stdin;
  close $in;
  my $pid = fork() // die "netlab-cni-chain: fork: $!\n";
  if ($pid == 0) {
    open(STDIN, '<', "$tmp/in") or exit 126;
    open(STDOUT, '>', "$tmp/out") or exit 126;
    open(STDERR, '>', "$tmp/err") or exit 126;
    # the plugin sees the spec's variables and a PATH, nothing of netlab's environment
    %ENV = (PATH => '/usr/sbin:/usr/bin:/sbin:/bin', %$env);
    exec { $file } $file or do { print STDERR "cannot run $file: $!\n"; exit 127 };
  }
  waitpid($pid, 0);
  my $code = $? & 127 ? 128 + ($? & 127) : $? >> 8;
  return ($code, slurp("$tmp/out") // '', slurp("$tmp/err") // '');
}

# What a STATUS error means (CNI 1.1): 50, the plugin cannot serve an ADD; 51, nor can the pods
# it already added count on their connectivity. Either way the node's ADDs are not tried.
sub status_meaning {
  my ($cmd, $out, $c) = @_;
  return '' unless $cmd eq 'STATUS';
  my $code = eval { $json->decode($out)->{code} } // 0;
  return "the plugin is not available (STATUS error 50: it cannot serve an ADD now), so no pod of node $c->{node} was added: " if $code == 50;
  return "the plugin is not available, and pods already on its network may have limited connectivity (STATUS error 51), so no pod of node $c->{node} was added: " if $code == 51;
  return "STATUS failed, so no pod of node $c->{node} was added: ";
}

my ($failed, $message);
my $previous;
for my $n (0 .. $#$calls) {
  my $c = $calls->[$n];
  my %env = %{$c->{env}};
  my $cmd = $env{CNI_COMMAND} // '';
  my $conf = $json->decode($c->{config});
  my $cached;
  if (defined $c->{cache} && -e $c->{cache}) { $cached = eval { $json->decode(slurp($c->{cache})) } }
  if ($c->{prevResult} eq 'previous' && defined $previous) { $conf->{prevResult} = $previous }
  elsif ($c->{prevResult} eq 'cached' && $cached && $cached->{result}) { $conf->{prevResult} = $cached->{result} }
  # DEL of a pod whose namespace is already gone: the spec lets CNI_NETNS be empty then
  $env{CNI_NETNS} = '' if $cmd eq 'DEL' && $env{CNI_NETNS} && !-e $env{CNI_NETNS};
  my ($code, $out, $err) = $c->{fault}
    ? (1, '{"cniVersion":"1.0.0","code":999,"msg":"fault injected by NETLAB_TEST_FAULT_AT"}', '')
    : run_plugin($c->{file}, \%env, $json->encode($conf));
  if ($code != 0) {
    $out =~ s/\s+$//;
    $err =~ s/\s+$//;
    my $why = $out ne '' ? $out : "exit code $code" . ($err ne '' ? ", stderr: $err" : ', no error result on stdout');
    if (!defined $failed) {
      $failed = $n;
      my $who = defined $c->{pod} ? "pod $c->{pod}" : "node $c->{node}";
      $message = "call $n failed: plugin $c->{plugin} ($who, CNI_COMMAND=$cmd): " . status_meaning($cmd, $out, $c) . "$why\n";
    }
    last unless $cmd eq 'DEL' || $cmd eq 'GC';
    next;
  }
  if ($cmd eq 'ADD') {
    $previous = eval { $json->decode($out) };
    if (!defined $previous) {
      $failed = $n;
      $message = "call $n failed: plugin $c->{plugin} (pod $c->{pod}, CNI_COMMAND=ADD): its result is not JSON: $out\n";
      last;
    }
    if ($c->{last}) {
      my @args = map { [split /=/, $_, 2] } grep { length } split /;/, ($env{CNI_ARGS} // '');
      my $record = {
        kind => 'cniCacheV1',
        containerId => $env{CNI_CONTAINERID},
        ifName => $env{CNI_IFNAME},
        networkName => $conf->{name},
        cniArgs => \@args,
        result => $previous,
      };
      make_path(dirname($c->{cache}));
      open(my $fh, '>', "$c->{cache}.tmp") or die "netlab-cni-chain: $c->{cache}: $!\n";
      print $fh $json->encode($record);
      close $fh or die "netlab-cni-chain: $c->{cache}: $!\n";
      rename("$c->{cache}.tmp", $c->{cache}) or die "netlab-cni-chain: $c->{cache}: $!\n";
    }
  }
  unlink $c->{cache} if $cmd eq 'DEL' && $c->{last};
}
if (defined $failed) {
  print STDERR $message;
  exit 1;
}
exit 0;
