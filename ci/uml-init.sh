#!/bin/sh
# PID 1 inside User-Mode Linux for ci/uml.sh (not meant to be run on its own).
# The root is the host's / over hostfs; this mounts proc, sysfs, the ext4 image on ubd0 (if
# there is one, else a tmpfs) on /tmp, where mmapconf makes its files, and a tmpfs on
# /dev/shm (all the UML kernel's own, not the host's), runs mmapconf, writes its exit status
# to $MMAPCONF_RC and powers the UML kernel off. MMAPCONF_ROOT, MMAPCONF_OUT and MMAPCONF_RC
# come from the UML command line (the kernel passes unknown NAME=value words to init's
# environment).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
if ! { [ -b /dev/ubda ] && mount -t ext4 /dev/ubda /tmp && chmod 1777 /tmp; }; then
  mount -t tmpfs -o mode=1777 tmpfs /tmp
fi
mkdir -p /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
echo "uml-init: $(uname -srm), /tmp is $(awk '$2 == "/tmp" {print $3}' /proc/mounts), running mmapconf"
rc=125
cd "$MMAPCONF_ROOT" && {
  "$MMAPCONF_ROOT/target/release/mmapconf" --cases "$MMAPCONF_ROOT/cases" run --out "$MMAPCONF_OUT" \
    --under "User-Mode Linux (linux.uml), /tmp on ext4"
  rc=$?
}
echo "$rc" > "$MMAPCONF_RC"
sync
echo o > /proc/sysrq-trigger
sleep 30
