#!/usr/bin/env bash
# Dissect captures with tshark and fail on anything a network engineer would
# flag: malformed packets, expert errors, IPv4 header / TCP / UDP / ICMP /
# ICMPv6 checksums that are not verified good. Encapsulations are decoded (IP-in-IP by
# tshark itself, GUE through scripts/gue.lua) and counted.
#
# usage: scripts/tshark-check.sh [--install] [--gue-port PORT] [--require-ipip] [--require-gue] [--require-icmp] CAPTURE...
#   --install       install tshark (apt-get) when it is missing (alone: only that)
#   --require-ipip  fail unless some frame carries IP in IP (IPv4/IPv6 either way)
#   --require-gue   fail unless some frame carries GUE with an inner IP packet
#   --require-icmp  fail unless some frame is an ICMP or ICMPv6 error quoting a TCP/UDP packet
# Prints one summary line per capture:
#   CAPTURE: frames=N malformed=0 expert_errors=0 bad_checksums=0 unverified=0 ipip=K gue=G icmp=I
# Payloads of generated traffic are filler bytes, so application protocols
# that would parse them (DNS on port 53) are not dissected: the check is of
# layers 2 to 4 and the encapsulation.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
install=0 require_ipip=0 require_gue=0 require_icmp=0 gue_port=6080
files=()
while [ $# -gt 0 ]; do
    case "$1" in
        --install) install=1 ;;
        --require-ipip) require_ipip=1 ;;
        --require-gue) require_gue=1 ;;
        --require-icmp) require_icmp=1 ;;
        --gue-port) gue_port="$2"; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) files+=("$1") ;;
    esac
    shift
done
if ! command -v tshark >/dev/null 2>&1; then
    if [ "$install" = 1 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null
    else
        echo "tshark not found (pass --install, or: apt-get install tshark)" >&2
        exit 2
    fi
fi
if [ ${#files[@]} -eq 0 ]; then
    [ "$install" = 1 ] && exit 0   # --install alone: just make sure tshark is there
    echo "no capture given" >&2
    exit 2
fi
status=0
for f in "${files[@]}"; do
    # Two passes: ICMP errors apart, since they quote a packet cut short
    # whose TCP/UDP checksum cannot be verified (tshark computes it over the
    # cut quote for IPv6 and calls it bad): for them the IPv4 header and
    # ICMP/ICMPv6 checksums are checked, not the quote's transport.
    fields=(-T fields -E separator='|' -E occurrence=a -E aggregator=,
        -e frame.number -e frame.protocols -e _ws.malformed -e _ws.expert.severity
        -e ip.checksum.status -e tcp.checksum.status -e udp.checksum.status
        -e icmp.checksum.status -e icmpv6.checksum.status)
    out="$(GUE_PORT="$gue_port" tshark -n -X "lua_script:$here/gue.lua" -r "$f" \
        -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
        --disable-protocol dns -Y '!(icmp || icmpv6)' "${fields[@]}" 2>/dev/null | sed 's/^/A|/' &&
        GUE_PORT="$gue_port" tshark -n -X "lua_script:$here/gue.lua" -r "$f" \
        -o ip.check_checksum:TRUE -o tcp.check_checksum:FALSE -o udp.check_checksum:FALSE \
        --disable-protocol dns -Y 'icmp || icmpv6' "${fields[@]}" 2>/dev/null | sed 's/^/B|/')" || {
        echo "$f: tshark failed to read the capture" >&2
        status=1
        continue
    }
    summary="$(printf '%s\n' "$out" | awk -F'|' -v file="$f" -v rq_ipip="$require_ipip" -v rq_gue="$require_gue" -v rq_icmp="$require_icmp" '
        function bad(kind, msg) { problems++; if (shown < 10) { print file ": frame " $2 ": " kind " (" $3 ")" > "/dev/stderr"; shown++ } }
        NF <= 1 { next }
        {
            frames++
            icmp_err = ($1 == "B")
            if ($4 != "") { malformed++; bad("malformed", msg) }
            n = split($5, sev, ",")
            for (i = 1; i <= n; i++) if (sev[i] + 0 >= 8388608) { expert++; bad("expert error", msg); break }
            # Checksum columns: IPv4, TCP, UDP; for ICMP errors IPv4, ICMP, ICMPv6.
            for (c = 6; c <= 10; c++) {
                if (icmp_err ? (c == 7 || c == 8) : (c >= 9)) continue
                m = split($c, st, ",")
                for (i = 1; i <= m; i++) {
                    if (st[i] == "0") { badck++; bad("bad checksum", msg) }
                    else if (st[i] != "1") { unver++; bad("checksum not verified", msg) }
                }
            }
            # A TCP layer (an ICMP layer for an error) must have had its checksum checked.
            if (!icmp_err && $3 ~ /:tcp/ && $7 == "") { unver++; bad("no TCP checksum status", msg) }
            if (icmp_err && $9 == "" && $10 == "") { unver++; bad("no ICMP checksum status", msg) }
            if (icmp_err) icmps++
            if (icmp_err && $3 ~ /:icmp(v6)?:ip(v6)?:(tcp|udp)/) icmpq++
            if ($3 ~ /ip(v6)?:ip(v6)?(:|$)/) ipip++
            if ($3 ~ /:udp:gue:ip(v6)?/) gue++
        }
        END {
            printf "%s: frames=%d malformed=%d expert_errors=%d bad_checksums=%d unverified=%d ipip=%d gue=%d icmp=%d\n",
                file, frames, malformed, expert, badck, unver, ipip, gue, icmps
            if (problems > 0) exit 1
            if (rq_ipip && ipip == 0) { print file ": no IP-in-IP frame decoded" > "/dev/stderr"; exit 1 }
            if (rq_gue && gue == 0) { print file ": no GUE frame decoded" > "/dev/stderr"; exit 1 }
            if (rq_icmp && icmpq == 0) { print file ": no ICMP error quoting TCP/UDP decoded" > "/dev/stderr"; exit 1 }
        }')" || status=1
    echo "$summary"
done
exit $status
