#!/usr/bin/perl
# netlab-exec-in.pl NETNS PROGRAM ARGV0 [ARG...]: become PROGRAM (its argv[0] ARGV0, netlab's
# marker) inside the lab namespace NETNS, never the host's own (netlab_enter). What
# `ip netns exec NETNS` does, without its mount namespace: ip makes one for every program it runs
# (to mount a /sys of the namespace), a copy of the host's mount table, which holds a mount for
# each namespace under /run/netns; beside a 10,000-pod lab that took a second and a half a BIRD.
# What netlab starts this way (BIRD) reads neither /sys nor /etc/netns.
use strict;
use warnings;

require((__FILE__ =~ s{[^/]*$}{}r) . 'netlab-setns.pl');    # netlab_enter()

my ($netns, $program, @argv) = @ARGV;
die "usage: netlab-exec-in.pl NETNS PROGRAM ARGV0 [ARG...]\n" unless defined $program && @argv;
die "netlab-exec-in: not a namespace name: $netns\n" unless $netns =~ /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
netlab_enter($netns) or die "netlab-exec-in: cannot enter $netns: $!\n";
exec {$program} @argv or die "netlab-exec-in: exec $program: $!\n";
