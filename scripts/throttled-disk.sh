#!/bin/sh
# A loop-device ext4 file system whose writes a cgroup v1 blkio throttle holds to IOPS per second
# (root). usage: throttled-disk.sh up IOPS NAME | down NAME | run NAME cmd...
# (run: exec cmd inside the throttled cgroup). Files under ${W:-/tmp/nodefit-bench}/NAME.
set -e
act=$1; shift
case $act in
up) iops=$1; name=$2; d=${W:-/tmp/nodefit-bench}/$name; mkdir -p $d/mnt
    truncate -s 512M $d/img; dev=$(losetup -f --show $d/img); echo $dev > $d/dev
    mkfs.ext4 -q -F $dev; mount $dev $d/mnt
    mkdir -p /sys/fs/cgroup/blkio/nodefit-bench-$name
    mm=$(stat -c '%t:%T' $dev); maj=$((0x${mm%:*})); min=$((0x${mm#*:}))
    echo "$maj:$min $iops" > /sys/fs/cgroup/blkio/nodefit-bench-$name/blkio.throttle.write_iops_device
    echo "$dev $maj:$min $iops";;
down) name=$1; d=${W:-/tmp/nodefit-bench}/$name; umount $d/mnt; losetup -d $(cat $d/dev); rmdir /sys/fs/cgroup/blkio/nodefit-bench-$name; rm -rf $d;;
run) name=$1; shift; echo $$ > /sys/fs/cgroup/blkio/nodefit-bench-$name/cgroup.procs; exec "$@";;
esac
