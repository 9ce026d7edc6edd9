-- Generic UDP Encapsulation (draft-ietf-intarea-gue) for tshark/Wireshark,
-- which have no GUE dissector of their own. Variant 1 (what lbnic emits:
-- the inner IP header right after UDP) hands the payload to the IPv4 or
-- IPv6 dissector; variant 0 shows the GUE header and dissects the inner
-- protocol by its number. Port: GUE_PORT (default 6080, lbnic's default).
local gue = Proto("gue", "Generic UDP Encapsulation")
local f_variant = ProtoField.uint8("gue.variant", "Variant", base.DEC)
local f_proto = ProtoField.uint8("gue.proto", "Protocol", base.DEC)
local f_hlen = ProtoField.uint8("gue.hlen", "Header length (words)", base.DEC)
gue.fields = { f_variant, f_proto, f_hlen }

local ip = Dissector.get("ip")
local ipv6 = Dissector.get("ipv6")

function gue.dissector(tvb, pinfo, tree)
    if tvb:len() < 1 then return 0 end
    local first = tvb(0, 1):uint()
    local variant = bit.rshift(first, 6)
    local t = tree:add(gue, tvb(0, 1))
    t:add(f_variant, tvb(0, 1), variant)
    pinfo.cols.protocol = "GUE"
    if variant == 1 then
        local version = bit.rshift(first, 4)
        if version == 4 then
            return ip:call(tvb, pinfo, tree)
        elseif version == 6 then
            return ipv6:call(tvb, pinfo, tree)
        end
        return 1
    elseif variant == 0 and tvb:len() >= 4 then
        local hlen = bit.band(first, 0x1f)
        t:add(f_hlen, tvb(0, 1), hlen)
        local proto = tvb(1, 1):uint()
        t:add(f_proto, tvb(1, 1), proto)
        local off = 4 + 4 * hlen
        if tvb:len() > off then
            local d = DissectorTable.get("ip.proto"):get_dissector(proto)
            if d then return off + d:call(tvb(off):tvb(), pinfo, tree) end
        end
        return off
    end
    return 0
end

local port = tonumber(os.getenv("GUE_PORT") or "6080")
DissectorTable.get("udp.port"):add(port, gue)
