# The packet filter through nf_tables: nft(8) and iptables-nft change it
# in batches, list it, and the stack applies it to loopback traffic.
# Counters that vary with timing are masked.
set -u
PATH=$PATH:/usr/sbin:/sbin
bb=busybox
serve() { $bb nc -l -p "$1" -e echo "$2" >/dev/null 2>&1 & }
probe() { $bb timeout 3 $bb nc -w 1 127.0.0.1 "$1" </dev/null 2>&1; echo " rc=$?"; }
mask() { sed 's/packets [0-9]* bytes [0-9]*/packets P bytes B/'; }

serve 7070 hi
sleep 0.3
echo "open: $(probe 7070)"
nft add table ip t
nft add chain ip t in '{ type filter hook input priority 0; policy accept; }'
nft add rule ip t in tcp dport 7070 counter drop
echo "dropped: $(probe 7070)"
nft -a list ruleset | mask
nft insert rule ip t in position 2 ip saddr 10.9.9.9 accept
nft add rule ip t in udp dport 53 accept comment '"dns"'
nft -a list chain ip t in | mask
nft delete rule ip t in handle 2
echo "after delete: $(probe 7070)"
nft list table ip t
nft add table ip t '{ flags dormant; }'
nft list tables
# nft's message for this one points at the chain's name with the netlink
# extended ack's attribute offset, which the sandbox does not send: only
# the status is compared.
echo "deleting a chain in use:"; nft add chain ip t sub; nft add rule ip t in jump sub; nft delete chain ip t sub 2>/dev/null; echo "rc=$?"
echo "a failing batch changes nothing:"
printf 'add table ip u\nadd chain ip u c\nadd rule ip u nochain accept\n' | nft -f - 2>/dev/null; echo "rc=$?"
nft list tables
nft flush ruleset
nft list ruleset; echo "flushed rc=$?"

echo "maps:"
nft add table ip m
nft add map ip m v '{ type ipv4_addr : verdict; }'
nft add element ip m v '{ 10.0.0.1 : drop, 10.0.0.2 : accept }'
nft add chain ip m c '{ type filter hook input priority 0; }'
nft add rule ip m c ip saddr vmap @v
nft delete element ip m v '{ 10.0.0.1 }'
nft list table ip m
nft delete table ip m

echo "nft dnat:"
nft add table ip n
nft add chain ip n out '{ type nat hook output priority -100; }'
nft add rule ip n out tcp dport 7074 counter dnat to 127.0.0.1:7075
serve 7075 natted
sleep 0.3
echo "dnat: $(probe 7074)"
nft list table ip n | mask
nft delete table ip n

echo "iptables-nft:"
iptables-nft -A OUTPUT -p tcp --dport 7071 -j DROP
iptables-nft -A OUTPUT -d 10.1.2.0/24 -j ACCEPT
iptables-nft -I OUTPUT 1 -p udp --dport 9999 -j ACCEPT
iptables-nft -S
iptables-nft -t nat -A OUTPUT -p tcp --dport 7072 -j DNAT --to-destination 127.0.0.1:7073
serve 7073 translated
sleep 0.3
echo "dnat: $(probe 7072)"
iptables-nft -D OUTPUT -p tcp --dport 7071 -j DROP
iptables-nft -L OUTPUT -n
iptables-nft-save | grep -v '^#' | mask
iptables-nft -F
iptables-nft -t nat -F
echo "echoes and notices:"
out=$(mktemp)
nft monitor > "$out" 2>&1 &
mon=$!
sleep 0.5
pids() { sed 's/by process [0-9]*/by process PID/'; }
nft -e add table ip y | pids
nft -e -a add chain ip y c | pids
nft -e -a add rule ip y c tcp dport 80 drop | pids
nft -e -a insert rule ip y c udp dport 53 accept | pids
nft delete rule ip y c handle 2
nft delete table ip y
sleep 0.5
kill $mon 2>/dev/null
wait $mon 2>/dev/null
pids < "$out"
rm -f "$out"
echo "a nested namespace has its own:"
unshare -n nft list ruleset; echo "rc=$?"
# A server whose probe never came must not keep the script waiting.
kill $(jobs -p) 2>/dev/null
wait
