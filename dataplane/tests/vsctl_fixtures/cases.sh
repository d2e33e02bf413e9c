# The ovs-vsctl sessions whose real output gen.sh records (sourced by gen.sh; see there for
# new_case, vs, iface_status, bridge_status and the SORT/ONLY/DEVIATES variables).
# Arguments are written as a shell user types them.
# shellcheck shell=bash

new_case "bridges"
vs init
vs add-br br0
vs add-br br0
vs --may-exist add-br br0
vs add-br br1 -- add-br br2
vs list-br
vs br-exists br0
vs br-exists br9
vs br-to-vlan br0
vs br-to-parent br1
vs br-to-vlan br9
vs del-br br9
vs --if-exists del-br br9 -- list-br
vs del-br br2 -- list-br
vs --real list-br
vs --fake list-br
vs list-ports br0
vs list-ifaces br0
SORT=tree vs show

new_case "fake bridges and argument counts"
vs add-br br0
DEVIATES="rvs refuses fake bridges" vs add-br br3 br0 10
vs add-br br3 br0
vs add-br
vs add-br a b c d
vs list-ports br0 extra
vs list-br --may-exist
vs --may-exist list-br
vs nosuch
vs -- --may-exist
vs

new_case "ports"
vs add-br br0
vs add-port br0 p3 -- add-port br0 p1 -- add-port br0 p2
vs list-ports br0
vs list-ifaces br0
vs add-port br0 p1
vs --may-exist add-port br0 p1
vs add-port br9 p9
vs add-port br9 p1
vs add-br br1
vs add-port br1 p1
vs --may-exist add-port br1 p1
vs --may-exist add-port br1 p1 tag=7
vs add-port br1 br0
vs add-br p2
vs port-to-br p1
vs port-to-br br0
vs port-to-br p9
vs iface-to-br p2
vs iface-to-br br1
vs iface-to-br p9
SORT=tree vs show

new_case "deleting ports"
vs add-br br0 -- add-port br0 p1 -- add-port br0 p2 -- add-br br1 -- add-port br1 q1
vs del-port p9
vs --if-exists del-port p9
vs del-port br0 p9
vs --if-exists del-port br9 p9
vs del-port br9 p1
vs del-port br1 p1
vs del-port br0 br0
vs --if-exists del-port br0
vs del-port br0 p1 -- list-ports br0
vs del-port q1 -- list-ports br1
vs --with-iface del-port p2
vs --with-iface del-port p9
vs del-br br0 -- list-br -- list-ports br1

new_case "port columns on add-port"
vs add-br br0
vs add-port br0 p1 tag=10 other_config:a=b trunks=1,2
vs get Port p1 tag other_config trunks vlan_mode
vs add-port br0 p2 foo=1
vs add-port br0 p2 type=internal
vs add-port br0 p2 interfaces:x=1
vs add-port br0 p2 tag=5000
vs list-ports br0
vs add-port br0 p3 -- set Interface p3 type=internal options:k=v -- set Interface p3 ofport_request=5
vs get Interface p3 type options ofport_request
SORT=tree vs show

new_case "controllers and fail mode"
vs add-br br0
vs get-controller br0
vs set-controller br0 tcp:127.0.0.1:6653 ptcp:6654
vs get-controller br0
vs get-fail-mode br0
vs set-fail-mode br0 secure
vs get-fail-mode br0
vs set-fail-mode br0 bogus
vs set-fail-mode br9 secure
vs get-controller br9
vs set Bridge br0 datapath_type=netdev
SORT=tree vs show
vs del-controller br0 -- get-controller br0
vs del-fail-mode br0 -- get-fail-mode br0
vs get Bridge br0 fail_mode
vs set Bridge br0 fail_mode=standalone -- get-fail-mode br0
vs set Bridge br0 fail_mode=bogus
SORT=tree vs show
vs set Bridge br0 other_config:hwaddr=02:00:00:00:00:01 other_config:x=y -- add-port br0 p1 other_config:a=b
vs set-controller br0 tcp:10.0.0.1:6653 -- set-fail-mode br0 secure
vs emer-reset -- get-controller br0 -- get-fail-mode br0 -- get Bridge br0 other_config -- get Port p1 other_config
vs get-manager -- get-ssl -- del-manager -- del-ssl -- comment hello world

new_case "external ids"
vs add-br br0
vs br-set-external-id br0 owner "Jane Doe"
vs br-set-external-id br0 zone a
vs br-get-external-id br0 owner
vs br-get-external-id br0 nokey
vs br-get-external-id br0
vs br-set-external-id br0 zone
vs br-get-external-id br0
vs br-get-external-id br9
vs get Bridge br0 external_ids

new_case "get and set"
vs add-br br0 -- add-port br0 p1
vs get Bridge br0 name
vs get bridge br0 datapath_type fail_mode protocols
vs set Bridge br0 other_config:a=b 'external_ids:x="y z"'
vs get Bridge br0 other_config external_ids
vs get Bridge br0 other_config:a
vs get Bridge br0 other_config:zz
vs --if-exists get Bridge br0 other_config:zz
vs get Bridge br9 name
vs --if-exists get Bridge br9 name
vs get Bridge br0 foo
vs get Bridge br0 o
vs get Bridge br0 fail
vs get Bridge br0 other_config:a:b
vs get Bridge br0 name:x
vs get Port p1 tag trunks vlan_mode
vs set Port p1 tag=10 trunks=1,2,3 vlan_mode=access
vs get Port p1 tag trunks vlan_mode
vs set Port p1 trunks=[]
vs get Port p1 trunks
vs set Port p1 trunks=1-5,9
vs get port p1 trunks
vs set Port p1 tag=5000
DEVIATES="the allowed values do not include dot1q-tunnel" vs set Port p1 vlan_mode=foo
DEVIATES="rvs does not offer vlan_mode dot1q-tunnel" vs set Port p1 vlan_mode=dot1q-tunnel
vs set Port p1 'tag=[]' -- get Port p1 tag
vs set Port p1 'tag=[3]' -- get Port p1 tag
vs set Port p1 'tag=1 2'
vs set Port p1 trunks=7-2
vs set Port p1 trunks=1-5000
vs set Port p1 trunks=abc
vs get interface p1 type options ofport_request mtu_request ofport error
vs set Interface p1 ofport_request=0
vs set Interface p1 ofport_request=65280
vs set Interface p1 ofport_request=65279 mtu_request=9000 -- get Interface p1 ofport_request mtu_request
vs set Interface p1 mtu_request=0
vs set Interface p1 'type=""' -- get Interface p1 type
vs set Interface p1 type=internal -- get Interface p1 type
vs set Bridge br0 protocols=OpenFlow13,OpenFlow10 -- get Bridge br0 protocols
vs set Bridge br0 protocols=OpenFlow99
vs set Bridge br0 name=x
vs set Bridge br9 name=x
vs --if-exists set Bridge br9 other_config:a=b
vs set Bridge br0 nosuch=1
vs set Bridge br0 other_config
vs set Bridge br0 other_config=
vs set Bridge br0 :a=b
vs set Bridge br0 other_config:=b
vs set Bridge br0 fail_mode:x=y
vs set Open_vSwitch . other_config:pmd-cpu-mask=0x6 external_ids:system-id=host1
vs get Open_vSwitch . other_config external_ids ovs_version
vs get Open_vSwitch x other_config
vs get o . other_config:pmd-cpu-mask
vs get i p1 type
vs get nosuch x name
vs get Port p1 _uuid name

new_case "value syntax"
vs add-br br0 -- add-port br0 p1
vs set Port p1 'trunks=[1,2'
vs set Port p1 trunks=1,,2
vs set Port p1 'trunks=[1] x'
vs set Port p1 trunks=1,1
vs set Port p1 'trunks=3 1  2' -- get Port p1 trunks
vs set Bridge br0 'other_config={a=1,a=2}'
vs set Bridge br0 other_config=a
vs set Bridge br0 'other_config={a=1'
vs set Bridge br0 'other_config={b=2, a=1}' -- get Bridge br0 other_config
vs set Bridge br0 'other_config={}' -- get Bridge br0 other_config
vs set Bridge br0 'other_config:"a b"="c"' -- get Bridge br0 'other_config:"a b"' other_config
vs set Bridge br0 'other_config:x="unterminated'
vs set Bridge br0 'other_config:x="a\"b"' -- get Bridge br0 other_config:x
vs set Bridge br0 'other_config:y=a\' -- get Bridge br0 other_config:y
vs set Bridge br0 'other_config:a\=b=c\,d' -- get Bridge br0 other_config
for v in 0abc a.b a:b true false a-b _x 10.0.0.1 'x y' a/b -x é A_B 'tab	x'; do
    vs set Bridge br0 "external_ids:k=$(jq -Rn --arg v "$v" '$v')" -- get Bridge br0 external_ids:k external_ids
done

new_case "add remove clear"
vs add-br br0 -- add-port br0 p1
vs add Bridge br0 other_config c=d e=f
vs add Bridge br0 other_config c=zz
vs get Bridge br0 other_config
vs remove Bridge br0 other_config c
vs remove Bridge br0 other_config e=nope -- get Bridge br0 other_config
vs remove Bridge br0 other_config e=f -- get Bridge br0 other_config
vs add Port p1 trunks 5 6,7 -- get Port p1 trunks
vs remove Port p1 trunks 5 7 -- get Port p1 trunks
vs add Port p1 trunks 1-3 -- get Port p1 trunks
vs add Port p1 tag 8 -- get Port p1 tag
DEVIATES="ovs-vsctl 3.1 leaves the maximum to the server (transaction error)" vs add Port p1 tag 9
DEVIATES="ovs-vsctl 3.1 leaves the maximum to the server (transaction error)" vs add Port p1 tag 8 9
vs remove Port p1 tag 8 -- get Port p1 tag
vs add Interface p1 options a=1 -- get Interface p1 options
vs remove Interface p1 type ""
vs add Bridge br0 name x
vs add Bridge br9 other_config a=b
vs --if-exists add Bridge br9 other_config a=b
vs add Bridge br0 nosuch a=b
vs set Port p1 vlan_mode=trunk tag=3
vs clear Port p1 tag trunks vlan_mode -- get Port p1 tag trunks vlan_mode
vs clear Bridge br0 name
vs clear Interface p1 type
vs clear Bridge br0 other_config -- get Bridge br0 other_config
vs --if-exists clear Bridge br9 other_config
vs remove Bridge br0 protocols OpenFlow10
vs add Bridge br0 protocols OpenFlow10 OpenFlow13 -- get Bridge br0 protocols
vs remove Bridge br0 protocols OpenFlow13 -- get Bridge br0 protocols

new_case "list"
vs add-br br0 -- add-port br0 p1 tag=5 -- set Interface p1 options:remote_ip=10.0.0.1 -- add-br br1
vs set Bridge br0 other_config:a=b external_ids:x=y protocols=OpenFlow13 fail_mode=secure
ONLY=Open_vSwitch vs list Open_vSwitch
ONLY=Bridge vs list Bridge br0
ONLY=Port vs list Port p1
ONLY=Interface vs list Interface p1
SORT=blocks ONLY=Bridge vs list Bridge
vs --columns=name,other_config list Bridge br0 br1
SORT=blocks vs --columns=name,other_config list Bridge
vs --columns=name,_uuid,tag list Port p1
vs --columns=name list Bridge br0 -- --columns=name list Port p1 -- list-br
vs list bridge br9
vs --if-exists --columns=name list bridge br9 br0
vs --columns= list bridge br0
vs --columns=nosuch list bridge br0
vs --columns=o list interface p1
vs list nosuch
DEVIATES="rvs has no Controller table (Bridge:controller holds the targets)" vs list Controller
vs list i

new_case "formats"
vs add-br br0 -- add-port br0 p1 tag=5 -- set Port p1 'other_config:"k 1"=a,b' -- add-port br0 p2
vs --format=table --columns=name,tag,other_config list Port p1
SORT=lines vs --format=table --columns=name,tag list Port
vs --format=table --no-headings --columns=name,tag list Port p1
vs --format=csv --columns=name,tag,other_config list Port p1
vs --format=csv --no-headings --columns=name,other_config list Port p1
vs --format=json --columns=name,tag,other_config,trunks list Port p1
vs --format=json --pretty --columns=name,other_config list Port p1
vs --format=html --columns=name,tag,other_config list Port p1
vs --format=html --columns=_uuid,name list Port p1
vs --data=bare --columns=name,tag,other_config list Port p1
vs --data=json --columns=name,tag,other_config,trunks list Port p1
vs --format=table --data=json --columns=name,tag,other_config list Port p1
vs --bare --columns=name,other_config list Port p1 p2
vs --bare --columns=name list Port p1 -- get Port p1 other_config
vs --format=table --columns=name list Bridge br0 -- --columns=name,tag list Port p1
vs --format=csv --columns=name list Bridge br0 -- --columns=name list Port p1
vs --format=json --columns=name list Bridge br0 -- --columns=name list Port p1
vs --format=table list-br
vs --format=table --columns=name find Port tag=99
vs --format=csv --columns=name find Port tag=99 -- --columns=name list Port p1
vs --columns=name find Port tag=99 -- --columns=name list Port p1
vs --format=json --columns=name find Port tag=99
vs --format=xml list-br
vs --data=foo list-br

new_case "find"
vs add-br br0 -- add-port br0 p1 tag=10 -- add-port br0 p2 tag=20 trunks=1,2 -- add-port br0 p3
vs set Interface p1 type=internal options:k=v -- set Interface p2 type=internal
vs set Port p3 other_config:mtu=1500 -- set Port p2 other_config:mtu=9000
vs --columns=name find Port tag=10
SORT=blocks vs --columns=name find Port 'tag>5'
SORT=blocks vs --columns=name find Port 'tag!=10'
SORT=blocks vs --columns=name find Port 'tag{!=}10'
SORT=blocks vs --columns=name find Port 'tag{<=}10,20'
SORT=blocks vs --columns=name find Port 'tag{in}10,20'
SORT=blocks vs --columns=name find Port 'tag{not-in}10'
SORT=blocks vs --columns=name find Port 'trunks{>=}1'
vs --columns=name find Port 'trunks{>}1'
SORT=blocks vs --columns=name find Port 'trunks{<}1,2'
vs --columns=name find Port 'trunks=[1,2]'
SORT=blocks vs --columns=name find Port 'trunks<[1,2]'
SORT=blocks vs --columns=name find Interface type=internal
vs --columns=name find Interface type=internal options:k=v
vs --columns=name,other_config find Port other_config:mtu=1500
vs --columns=name find Port 'other_config:mtu!=1500'
SORT=blocks vs --columns=name find Port 'other_config:mtu{!=}1500'
vs --columns=name find Port 'other_config:mtu>1500'
SORT=blocks vs --bare --columns=name find Port
vs find Port tag=abc
vs find Port tag
vs find Port foo=1
vs find Port tag=1,2
vs find Port tag:x=1
vs find Port 'tag{=}'
vs --columns=name find Bridge name=br0
ONLY=Port vs find Port tag=20

new_case "record names"
vs add-br br0 -- add-port br0 p1
vs get Port br0 name -- get Interface br0 type
vs --columns=name list Interface br0
vs get Bridge br0 datapath_id
DEVIATES="datapath_id is reported by the daemon: read-only in rvs" vs set Bridge br0 datapath_id=x
DEVIATES="bridges holds names in rvs, UUIDs in OVS" vs get Open_vSwitch . bridges
DEVIATES="bridges is read-only in rvs (use add-br/del-br)" vs set Open_vSwitch . bridges=[]

new_case "status columns"
vs add-br br0 -- add-port br0 p1 -- add-port br0 eth9
iface_status br0 ofport 65534
iface_status p1 ofport 1
iface_status p1 admin_state up
iface_status p1 link_state down
iface_status p1 mac_in_use 02:00:00:aa:bb:cc
iface_status p1 statistics rx_packets=5 tx_packets=7 rx_bytes=300
iface_status eth9 ofport -1
iface_status eth9 error "could not open network device eth9 (No such device)"
bridge_status br0 datapath_id 0000020000aabbcc
vs get Interface p1 ofport admin_state link_state mac_in_use statistics error
vs get Interface p1 statistics:rx_packets
vs get Interface eth9 ofport error
vs get Bridge br0 datapath_id
vs --columns=name,ofport,error find Interface ofport=-1
SORT=blocks vs --columns=name,ofport find Interface 'ofport>0'
SORT=tree vs show
DEVIATES="ofport is reported by the daemon: read-only in rvs" vs set Interface p1 ofport=3
DEVIATES="error is reported by the daemon: read-only in rvs" vs set Interface eth9 error=x
DEVIATES="statistics are reported by the daemon: read-only in rvs" vs clear Interface p1 statistics

new_case "global options"
vs add-br br0 -- add-port br0 p1 -- add-port br0 p2
vs --oneline list-br -- list-ports br0 -- get Port p1 tag -- get Bridge br0 name
vs --oneline --columns=name list Bridge br0
vs --oneline br-set-external-id br0 k 'a\b' -- br-get-external-id br0 k
vs -t 5 list-br
vs --timeout 5 list-br
vs -t5 --oneline list-br
vs --timeout list-br
vs --timeout=abc list-br
vs --may-e add-br br0
vs --if del-br br9
vs --no list-br
vs -x list-br
vs --foo list-br
vs --no-wait= list-br
vs --format
vs -f
vs --dry-run add-br brx -- list-br
vs list-br
vs --may-exist -- add-br br0 -- list-br
vs -- --may-exist add-br br0
vs --may-exist --may-exist add-br br0
vs -- --may-exist --may-exist add-br br0
vs --may-exist -- --may-exist add-br br0
vs --if-exists del-br br9 -- --if-exists del-br br8 -- list-br
vs --no-syslog --retry --no-wait list-br
vs --columns=name add-br br5
vs --if-exists=x del-br br9
vs -- --columns list Bridge br0
vs -- -x list-br
vs list-br --
vs list-br -- -- list-br
vs --dry-run --oneline add-port br0 p5 -- list-ports br0

new_case "what rvs refuses"
vs add-br br0 -- add-port br0 p1
DEVIATES="ports holds names in rvs, UUIDs in OVS" vs get Bridge br0 ports
DEVIATES="interfaces holds names in rvs, UUIDs in OVS" vs get Port p1 interfaces
DEVIATES="rvs opens only the interface types it knows" vs set Interface p1 type=dpdkvhostuserclient
DEVIATES="rvs checks bridge names when they are added" vs add-br averyveryverylongname
DEVIATES="rvs does not implement STP" vs get Bridge br0 stp_enable
DEVIATES="rvs does not implement STP" vs set Bridge br0 stp_enable=true
DEVIATES="rvs has no bonds" vs add-bond br0 bond0 p2 p3
DEVIATES="rvs has no managers" vs set-manager ptcp:6640
DEVIATES="rvs has no create command" vs -- --id=@c create Controller 'target="tcp:1.2.3.4:6653"' -- set Bridge br0 controller=@c
DEVIATES="rvs has no QoS table" vs list QoS
