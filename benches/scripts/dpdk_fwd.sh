#!/usr/bin/env bash
# dpdk_fwd.sh BINDIR [LABEL] [SECONDS]: one measurement of rvs-vswitchd forwarding between DPDK
# vdevs, as the "Costs, measured" table of pmd/src/dpdk/mod.rs was made: net_pcap replaying one
# 64-byte UDP flow forever (or $IN, e.g. IN=net_null1) into port 1, `in_port=1,actions=output:2`,
# net_null (no rx) as port 2, one PMD thread on core 1. Prints the output rate, the share of the
# window the PMD thread was on a CPU (oncpu, from /proc/PID/task/TID/schedstat), and the rate
# divided by it (mpps_norm: what a core of its own would do, on a shared machine).
# BINDIR holds rvs-vswitchd, rvs-vsctl, rvs-ofctl built with --features rvs-dataplane/dpdk
# (e.g. target/release). Needs root. EAL uses hugepages if some are free, else --no-huge.
# For an A/B comparison, interleave runs of the two builds.
set -u
B=$1; L=${2:-rvs}; DUR=${3:-5}
W=$(mktemp -d /tmp/rvs-dpdk-fwd.XXXXXX); mkdir -p $W/log
export RVS_RUNDIR=$W/run RVS_DBDIR=$W/db RVS_LOGDIR=$W/log
python3 - $W/in.pcap <<'PY'
import struct,sys
ip=bytearray([0x45,0,0,46,0,1,0,0,64,17,0,0,10,0,0,1,10,0,0,2])
s=sum(struct.unpack('>10H',bytes(ip))); s=(s&0xffff)+(s>>16); ip[10:12]=struct.pack('>H',(~s)&0xffff)
f=bytes([2,0,0,0,0,2,2,0,0,0,0,1])+b'\x08\x00'+bytes(ip)+struct.pack('>HHHH',1024,5000,26,0)+bytes(18)
with open(sys.argv[1],'wb') as o:
    o.write(struct.pack('<IHHiIII',0xa1b2c3d4,2,4,0,0,65535,1))
    for i in range(64): o.write(struct.pack('<IIII',0,0,len(f),len(f))); o.write(f)
PY
$B/rvs-vswitchd --log-file=$W/log/v.log > $W/out 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf $W' EXIT
for i in $(seq 50); do [ -S $W/run/rvs-vswitchd.ctl ] && break; sleep 0.1; done
$B/rvs-vsctl set Open_vSwitch . other_config:pmd-cpu-mask=0x2 other_config:dpdk-init=true -- add-br br0 -- set-fail-mode br0 secure
$B/rvs-ofctl add-flow br0 in_port=1,actions=output:2
$B/rvs-vsctl add-port br0 out -- set Interface out type=dpdk options:dpdk-devargs=net_null0,no-rx=1 ofport_request=2
$B/rvs-vsctl add-port br0 in -- set Interface in type=dpdk options:dpdk-devargs=${IN:-net_pcap0,rx_pcap=$W/in.pcap,infinite_rx=1} ofport_request=1
sleep 2
TID=$(for t in /proc/$PID/task/*; do grep -q '^pmd' $t/comm && basename $t; done | head -1)
txc() { $B/rvs-ofctl dump-ports br0 2 | sed -n "s/.*tx pkts=\([0-9]*\).*/\1/p"; }
run0=$(awk '{print $1}' /proc/$PID/task/$TID/schedstat); c0=$(txc); t0=$(date +%s.%N)
sleep $DUR
run1=$(awk '{print $1}' /proc/$PID/task/$TID/schedstat); c1=$(txc); t1=$(date +%s.%N)
awk -v L=$L -v c0=$c0 -v c1=$c1 -v t0=$t0 -v t1=$t1 -v r0=$run0 -v r1=$run1 -v d=$DUR 'BEGIN{
 p=c1-c0; s=t1-t0; onc=(r1-r0)/1e9/s; if(onc>1)onc=1;
 printf "%s mpps=%.2f oncpu=%.2f mpps_norm=%.2f\n", L, p/s/1e6, onc, p/s/1e6/onc }'
