// REWRITE of forwarded frames (docs/spec.md §12.1 point 3 "Emit",
// "Encapsulation details"; Rust: hw_model::pipeline::emit / tunnel_source,
// hw_model::packet::rewrite).
//
// Per packet: a descriptor (decision, parsed header fields, meta, the VIP,
// backend and GLOBAL entries, and `d_l3_sum`, see below) and the frame as an
// AXI-Stream read back from the packet buffer (EVERY descriptor has its
// frame on `s_*`, also a dropped one, whose beats are consumed and
// discarded). Out: the rewritten frame on `m_*`, and a status per packet on
// `st_*` (issued when the packet starts).
//
//   Pass              the frame unchanged (with its padding);
//   DR                dest MAC = backend MAC, src MAC = device MAC, the IP
//                     packet, padding dropped unless the IP packet ends
//                     before byte 60 (then up to 60 bytes kept, as is);
//   NAT forward       as DR, dest address (and port) = backend's, IPv4
//                     header and TCP/UDP checksums updated (RFC 1624; IPv4
//                     UDP checksum 0 stays 0, a computed 0 is sent 0xffff);
//   NAT reverse       source address (and port) = VIP's, dest MAC = gateway;
//   TUN-IPIP / -GUE   L2 header (VLAN tags kept, ethertype of the outer
//                     family), outer IPv4 (20) / IPv6 (40) header, for GUE
//                     a UDP header (8), then the IP packet (padding dropped):
//                     the payload shifts by 20/28/40/48 bytes, one beat per
//                     clock (an extra beat at the end when the shift carries
//                     past the last input beat).
//
//   NAT ICMP error    (hw_model::packet::icmp_nat, both ways) the outer
//                     address, the quoted address, port, quoted IPv4 header
//                     and TCP/UDP checksums and the ICMP checksum (which
//                     for ICMPv6 covers the outer addresses), all RFC 1624.
//
// `d_l3_sum`: the ones'-complement sum (RFC 1071: the 16-bit words added
// with end-around carry, not complemented) of the frame bytes [l3_offset, l3_offset + l3_len), the
// IP packet a GUE UDP checksum covers. The GUE checksum field precedes the
// payload, so a single streaming pass cannot compute it: the packet buffer's
// writer (RX) computes it in its pass (the IP length fields are in the first
// beat). Only GUE uses it.
//
// Throughput: a descriptor is taken in the clock the previous packet's last
// beat leaves; its frame may stream from the fourth clock after (the plan's
// checksums take three more, see below: lbnic_top's packet buffer returns
// the first beat no sooner), so back-to-back frames through one instance
// have a gap of three clocks: lbnic_top's egress has lanes (an instance
// each, packets taken in turn), so frames go back to back on TX. s_tready and m_tvalid are combinational through (put
// an lbnic_axis_fifo on either side for registered ready).
module lbnic_rewrite #(
    parameter int unsigned DATA_BYTES = lbnic_pkg::TARGET_DATAPATH_BYTES
) (
    input  logic clk,
    input  logic rst,

    input  logic                     d_valid,
    output logic                     d_ready,
    input  lbnic_pipe_pkg::decision_t d_decision,
    input  lbnic_pipe_pkg::parsed_t   d_parsed,
    input  lbnic_pipe_pkg::meta_t     d_meta,
    input  lbnic_pkg::vip_t           d_vip,
    input  lbnic_pkg::backend_t       d_backend,
    input  lbnic_pkg::global_t        d_global,
    input  logic [15:0]               d_l3_sum,
    // NAT of an ICMP error: the quoted IPv4 header's checksum and the
    // quoted TCP/UDP checksum as the frame holds them (0 when the quote
    // ends before it). The ICMP checksum precedes them on the wire; FRONT
    // reads them from the header window (docs/spec.md §13: a quoted TCP
    // checksum can lie past byte 256; open point).
    input  logic [15:0]               d_quote_ip_csum,
    input  logic [15:0]               d_quote_l4_csum,

    input  logic [8*DATA_BYTES-1:0] s_tdata,
    input  logic [DATA_BYTES-1:0]   s_tkeep,
    input  logic                    s_tlast,
    input  logic                    s_tvalid,
    output logic                    s_tready,

    output logic [8*DATA_BYTES-1:0] m_tdata,
    output logic [DATA_BYTES-1:0]   m_tkeep,
    output logic                    m_tlast,
    output logic                    m_tvalid,
    input  logic                    m_tready,

    // Per packet: what became of it. ST_TOO_BIG: counted drop_too_big;
    // st_len is the rewritten length, st_max the limit it exceeded (GLOBAL
    // max_frame, or less when an outer length field would overflow); only
    // a FORWARD decision may be answered (st_forward). The answer's MTU is
    // the too-big unit's (lbnic_icmp_too_big), not computed here.
    output logic        st_valid,
    input  logic        st_ready,
    output logic [2:0]  st_kind,
    output logic [7:0]  st_drop_counter, // ST_DROP: the decision's counter
    output logic        st_forward,
    output logic [15:0] st_len,
    output logic [15:0] st_max
);
  localparam int unsigned DB = DATA_BYTES;
  localparam int unsigned BW = 8 * DB;
  localparam int unsigned IB = 11;  // beat index bits (frames < 64 KiB)
  localparam int unsigned LB = $clog2(DB);

  // st_kind
  localparam logic [2:0] ST_TX = 3'd0;          // rewritten frame sent
  localparam logic [2:0] ST_PASS = 3'd1;        // sent unchanged
  localparam logic [2:0] ST_DROP = 3'd2;        // decision DROP (st_drop_counter)
  localparam logic [2:0] ST_TOO_BIG = 3'd3;     // drop_too_big
  localparam logic [2:0] ST_FAMILY = 3'd4;      // NAT address family mismatch: drop_parse

  localparam int unsigned HDR = 50;  // ethertype + outer IPv6 + UDP
  // where the GUE UDP header starts in it (after the ethertype and the
  // outer IPv4 / IPv6 header), and its checksum within the UDP header
  localparam int unsigned UDP_AT4 = 22, UDP_AT6 = 42, UDP_CS = 6;

  // ---------------------------------------------------------------- helpers
  function automatic [15:0] fold(input logic [23:0] x);
    logic [16:0] t;
    t = {1'b0, x[15:0]} + {9'd0, x[23:16]};
    fold = t[15:0] + {15'd0, t[16]};
  endfunction

  // RFC 1624: the difference a field's change from o to n makes to a
  // checksum (~o + n, folded), and a checksum c updated by a difference d
  // (eqn. 3: ~(~c + d)).
  function automatic [15:0] delta(input logic [15:0] o, input logic [15:0] n);
    delta = fold({8'd0, ~o} + {8'd0, n});
  endfunction
  // (~c + d is at most 0x1fffe, so its fold adds the carry once and never
  // carries again: ~c + d + 1 is added beside ~c + d and chosen by that
  // carry, one carry chain and a choice where fold's three chains in
  // series were the beat path's middle, issue 13)
  function automatic [15:0] upd(input logic [15:0] c, input logic [15:0] d);
    logic [16:0] s0;
    logic [15:0] s1;
    s0 = {1'b0, ~c} + {1'b0, d};
    s1 = ~c + d + 16'd1;
    upd = s0[16] ? ~s1 : ~s0[15:0];
  endfunction

  // upd(c, d) == 0 (RFC 1624's update of checksum c by d gives 0, which
  // UDP sends as 0xffff): ~c + d is 0xffff or 0x1fffe, i.e. c == d, or
  // c == 0 and d == 0xffff; compared beside the add, not after it.
  function automatic logic upd_zero(input logic [15:0] c, input logic [15:0] d);
    upd_zero = c == d || (c == 16'd0 && d == 16'hffff);
  endfunction

  // Sum of the 16-bit words of an address (4 octets at 12..15 or all 16).
  // (a tree of adds: one after another they were 8 deep)
  function automatic [23:0] addr_sum(input logic [127:0] a, input logic v6);
    logic [23:0] w[8];
    for (int k = 0; k < 8; k++)
      w[k] = (v6 || k >= 6) ? {8'd0, a[16*k+7 -: 8], a[16*k+15 -: 8]} : 24'd0;
    addr_sum = ((w[0] + w[1]) + (w[2] + w[3])) + ((w[4] + w[5]) + (w[6] + w[7]));
  endfunction
  // addr_sum(a, 1'b1) with words 6 and 7 in different pairs: IPv4's sum
  // (words 6 + 7) is then no add of its tree, which Yosys would share
  // between the two and so split the tree into a shared add and one of
  // many operands behind it (alumacc's $macc): 8 LUT levels with the fold
  function automatic [23:0] addr_sum6(input logic [127:0] a);
    logic [23:0] w[8];
    for (int k = 0; k < 8; k++) w[k] = {8'd0, a[16*k+7 -: 8], a[16*k+15 -: 8]};
    addr_sum6 = ((w[0] + w[1]) + (w[2] + w[3])) + ((w[4] + w[6]) + (w[5] + w[7]));
  endfunction

  // ------------------------------------------------ the plan of a packet
  logic        p_emit, p_encap, p_mac_en, p_nat, p_gue;
  logic [6:0]  p_shift;
  logic [IB-1:0] p_last_ob;
  logic [47:0] p_dmac, p_smac;
  logic [8*HDR-1:0] p_hdr;       // checksums patched in by the plan's stages
  logic [4:0]  p_addr_len;
  logic [127:0] p_addr;          // new address, octet k at [8k+7:8k]
  logic        p_port_en;
  logic [15:0] p_port;
  logic        p_ipcs_en;
  logic [15:0] p_ipcs_d;
  logic        p_l4cs_en, p_l4cs_udp, p_l4cs_keep0;
  logic [15:0] p_l4cs_d;
  logic        p_icmp, p_w1_en, p_w2_en;
  logic [15:0] p_w1, p_w2;
  // Where each rewritten field starts relative to the current beat's first
  // byte: its offset in the frame less DB x ib, loaded at take and stepped
  // down a beat as ib steps up (signed: a field behind the beat is
  // negative). A byte lane's tests are then compares of a register with the
  // lane's constant, not the beat's offset added to the lane and the
  // field's subtracted (carry chains per lane). The ends (_e) are set in
  // the plan's first clock; a new byte's index is the lane less the
  // register's low bits. The compares themselves are made a clock ahead
  // into per-lane masks (k_*, below), so the beat path is the lane's
  // choice and the checksum words' update: 8 LUT levels in this module
  // alone (docs/performance.md "The fourth round").
  localparam int unsigned RW = 18;
  logic signed [RW-1:0] r_l2, r_l2e, r_a, r_ae, r_a2, r_a2e, r_w1, r_w2, r_port, r_ipcs, r_l4cs;
  logic signed [RW-1:0] r_rem;  // output bytes from the beat's first

  // next plan, from the descriptor
  logic        n_emit, n_encap, n_mac_en, n_nat, n_gue;
  logic [6:0]  n_shift;
  logic [15:0] n_outlen;
  logic [47:0] n_dmac, n_smac;
  logic [8*HDR-1:0] n_hdr;
  logic [15:0] n_addr_at;
  logic [4:0]  n_addr_len;
  logic [127:0] n_addr;
  logic        n_port_en;
  logic [15:0] n_port_at, n_port;
  logic        n_ipcs_en;
  logic [15:0] n_ipcs_at;
  logic        n_l4cs_en, n_l4cs_udp, n_l4cs_keep0;
  logic [15:0] n_l4cs_at;
  logic        n_icmp, n_w1_en, n_w2_en;
  logic [15:0] n_addr2_at, n_w1_at, n_w2_at;
  logic [15:0] il3, il4, q_end, oldq_port;
  logic        q_l4;
  // The plan's checksum arithmetic in stages (below): the operands as
  // the descriptor gives them, registered when it is taken.
  logic [23:0] x_td0, x_tdv;
  logic [15:0] x_oa0, x_oav, x_na4, x_oi, x_nwv;
  logic [23:0] x_na6;  // not folded: stage 2 folds it with the rest of its sum
  logic        x_pe0, x_ipe, x_ql4, x_p17;
  logic [15:0] x_op0, x_np0, x_iop, x_inp;
  logic [2:0]  n_kind;
  // The output's last beat, (n_outlen - 1) >> LB, from each source of
  // n_outlen side by side (n_ol names the one taken): the subtract behind
  // the choice, itself behind the encapsulated length's add, was 9 LUT
  // levels into p_last_ob (issue 13). n_outlen is taken whatever the size
  // checks say (a packet not emitted uses neither).
  logic [1:0]  n_ol;
  localparam logic [1:0] OL_META = 2'd0, OL_ENC = 2'd1, OL_KEEP = 2'd2;
  logic [15:0] lob_meta, lob_enc, lob_keep, n_last_ob;
  logic [15:0] n_len, n_max;

  // descriptor decode
  logic [7:0]  mode;
  logic        is_fwd, is_rev, be_v6, vip_v6, tcpudp, later;
  logic [16:0] end_l3, keep, frame_len;
  // keep > max_frame, each of keep's two values compared beside the choice
  // (the choice's compares behind end_l3's add, then keep's mux, then this
  // compare were 8 LUT levels from the descriptor into n_emit, issue 13)
  logic keep_pad, keep_big;
  logic [16:0] pad_len;  // keep when padded: the frame up to 60 bytes
  logic [17:0] enc_len, enc_lim;
  logic [15:0] l3_len, ulen, ip_total, pay_len;
  logic [127:0] tsrc, tdst;      // outer addresses, octet k at [8k+7:8k]
  logic [127:0] pfx_num, mask, src_num;
  logic [7:0]  host_bits;
  logic [7:0]  proto_out;
  logic [15:0] sport;
  logic [63:0] udp_hdr;
  logic [15:0] old_port;
  // the addresses either direction takes, octet k at [8k+7:8k]
  // (the new address as n_addr has it: all 16 octets, or an IPv4
  // address's 12..15 at 0..3)
  logic [127:0] a_dst, a_src, a_isrc, a_idst, na_be, na_vip;
  logic [127:0] ra_be, ra_vip;   // as the entries hold them, all 16 octets
  always_comb begin
    for (int k = 0; k < 16; k++) begin
      a_dst[8*k +: 8] = d_parsed.dst[k];
      a_src[8*k +: 8] = d_parsed.src[k];
      ra_be[8*k +: 8] = d_backend.addr[k];
      ra_vip[8*k +: 8] = d_vip.addr[k];
      a_isrc[8*k +: 8] = d_parsed.icmp_error.src[k];
      a_idst[8*k +: 8] = d_parsed.icmp_error.dst[k];
    end
    na_be = ra_be;
    na_vip = ra_vip;
    if (!d_parsed.ipv6) begin
      na_be = {96'd0, na_be[127:96]};
      na_vip = {96'd0, na_vip[127:96]};
    end
  end

  always_comb begin
    mode = d_vip.mode;
    is_fwd = d_decision.kind == lbnic_pipe_pkg::DECISION_FORWARD;
    is_rev = d_decision.kind == lbnic_pipe_pkg::DECISION_REVERSE_NAT;
    be_v6 = (d_backend.flags & lbnic_pkg::BACKEND_FLAG_V6[7:0]) != 8'd0;
    vip_v6 = (d_vip.flags & lbnic_pkg::VIP_FLAG_V6[7:0]) != 8'd0;
    tcpudp = d_parsed.proto == 8'd6 || d_parsed.proto == 8'd17;
    later = d_parsed.frag == lbnic_pipe_pkg::FRAG_LATER;
    l3_len = d_parsed.l3_len;
    frame_len = {1'b0, d_meta.len};
    end_l3 = {3'd0, d_parsed.l3_offset} + {1'b0, l3_len};
    keep_pad = frame_len > end_l3 && end_l3 < 17'd60;
    pad_len = (frame_len < 17'd60) ? frame_len : 17'd60;
    keep = keep_pad ? pad_len : end_l3;
    keep_big = keep_pad ? pad_len > {1'b0, d_global.max_frame}
                        : end_l3 > {1'b0, d_global.max_frame};

    n_emit = 1'b0; n_encap = 1'b0; n_mac_en = 1'b0; n_nat = 1'b0;
    n_gue = mode == lbnic_pkg::MODE_TUN_GUE;
    n_shift = 7'd0; n_outlen = d_meta.len; n_ol = OL_META;
    n_dmac = d_backend.mac; n_smac = d_global.device_mac;
    n_kind = ST_TX; n_len = 16'd0; n_max = d_global.max_frame;
    n_addr_at = 16'd0; n_addr_len = 5'd4; n_addr = 128'd0;
    n_port_en = 1'b0; n_port_at = 16'd0; n_port = 16'd0;
    n_ipcs_en = 1'b0; n_ipcs_at = 16'd0;
    n_l4cs_en = 1'b0; n_l4cs_udp = 1'b0; n_l4cs_keep0 = 1'b0;
    n_l4cs_at = 16'd0;
    old_port = 16'd0;

    // ---- encapsulation
    n_shift = n_gue ? (be_v6 ? 7'd48 : 7'd28) : (be_v6 ? 7'd40 : 7'd20);
    enc_len = {4'd0, d_parsed.l2_len} + {11'd0, n_shift} + {2'd0, l3_len};
    // min(max_frame, l2_len + 0xffff (+ 40)) (Rust check_len): the second
    // is never below a 16-bit max_frame, so this is max_frame
    enc_lim = {2'd0, d_global.max_frame};
    pay_len = n_gue ? l3_len + 16'd8 : l3_len;
    ulen = l3_len + 16'd8;
    ip_total = pay_len + 16'd20;
    proto_out = n_gue ? 8'd17 : (d_parsed.ipv6 ? 8'd41 : 8'd4);
    sport = {2'b11, d_decision.hash[13:0]};
    // tunnel source: prefix with the hash in its host bits
    for (int k = 0; k < 16; k++) pfx_num[127-8*k -: 8] = d_global.tun_src_v6[k];
    if (be_v6) begin
      host_bits = 8'd128 - d_global.tun_src_v6_len;
    end else begin
      pfx_num = {96'd0, d_global.tun_src_v4[0], d_global.tun_src_v4[1],
                 d_global.tun_src_v4[2], d_global.tun_src_v4[3]};
      host_bits = 8'd32 - d_global.tun_src_v4_len;
    end
    // (1 << host_bits) - 1, all ones from 128: a compare per bit, no shifter
    for (int i = 0; i < 128; i++) mask[i] = host_bits[7] || host_bits[6:0] > 7'(i);
    src_num = (pfx_num & ~mask) | ({96'd0, d_decision.hash} & mask);
    tsrc = 128'd0;
    tdst = 128'd0;
    for (int k = 0; k < 16; k++) begin
      if (be_v6) tsrc[8*k +: 8] = src_num[127-8*k -: 8];
      tdst[8*k +: 8] = d_backend.addr[k];
    end
    if (!be_v6)
      for (int k = 0; k < 4; k++) tsrc[8*(12+k) +: 8] = src_num[31-8*k -: 8];
    // header bytes: ethertype, outer IP, UDP
    n_hdr = '0;
    n_hdr[7:0] = be_v6 ? 8'h86 : 8'h08;
    n_hdr[15:8] = be_v6 ? 8'hdd : 8'h00;
    if (be_v6) begin
      // the inner packet's traffic class, the flow label from the hash
      n_hdr[8*2 +: 8] = {4'h6, d_parsed.tos[7:4]};
      n_hdr[8*3 +: 8] = {d_parsed.tos[3:0], d_decision.hash[19:16]};
      n_hdr[8*4 +: 8] = d_decision.hash[15:8];
      n_hdr[8*5 +: 8] = d_decision.hash[7:0];
      n_hdr[8*6 +: 8] = pay_len[15:8];
      n_hdr[8*7 +: 8] = pay_len[7:0];
      n_hdr[8*8 +: 8] = proto_out;
      n_hdr[8*9 +: 8] = 8'd64;
      for (int k = 0; k < 16; k++) begin
        n_hdr[8*(10+k) +: 8] = tsrc[8*k +: 8];
        n_hdr[8*(26+k) +: 8] = tdst[8*k +: 8];
      end
    end else begin
      // the inner packet's TOS and DF (the checksum, bytes 12-13, later)
      n_hdr[8*2 +: 8] = 8'h45;
      n_hdr[8*3 +: 8] = d_parsed.tos;
      n_hdr[8*4 +: 8] = ip_total[15:8];
      n_hdr[8*5 +: 8] = ip_total[7:0];
      n_hdr[8*8 +: 8] = d_parsed.df ? 8'h40 : 8'h00;
      n_hdr[8*10 +: 8] = 8'd64;
      n_hdr[8*11 +: 8] = proto_out;
      for (int k = 0; k < 4; k++) begin
        n_hdr[8*(14+k) +: 8] = tsrc[8*(12+k) +: 8];
        n_hdr[8*(18+k) +: 8] = tdst[8*(12+k) +: 8];
      end
    end
    x_td0 = addr_sum(tdst, 1'b0);
    x_tdv = addr_sum(tdst, be_v6);
    // GUE UDP header after the outer IP header (its checksum comes later)
    udp_hdr = {sport, d_global.gue_port, ulen, 16'd0};
    for (int k = 0; k < 8; k++) begin
      if (be_v6) n_hdr[8*(UDP_AT6+k) +: 8] = udp_hdr[63-8*k -: 8];
      else n_hdr[8*(UDP_AT4+k) +: 8] = udp_hdr[63-8*k -: 8];
    end

    // ---- NAT (addresses in parsed_t: octet k at index k)
    n_addr = is_fwd ? na_be : na_vip;
    n_addr_len = d_parsed.ipv6 ? 5'd16 : 5'd4;
    if (d_parsed.ipv6)
      n_addr_at = {2'd0, d_parsed.l3_offset} + (is_fwd ? 16'd24 : 16'd8);
    else
      n_addr_at = {2'd0, d_parsed.l3_offset} + (is_fwd ? 16'd16 : 16'd12);
    if (is_fwd) begin
      n_port_en = d_backend.port != 16'd0 && !later && tcpudp;
      n_port_at = {2'd0, d_parsed.l4_offset} + 16'd2;
      n_port = d_backend.port;
      old_port = d_parsed.dport;
    end else begin
      n_port_en = !later && tcpudp;
      n_port_at = {2'd0, d_parsed.l4_offset};
      n_port = (d_backend.port != 16'd0) ? d_vip.port : d_parsed.sport;
      old_port = d_parsed.sport;
    end
    n_ipcs_en = !d_parsed.ipv6;
    n_ipcs_at = {2'd0, d_parsed.l3_offset} + 16'd10;
    // (each sum for both directions, chosen after: the direction's choice
    // in front of the adds was the plan's deepest path, issue 13)
    x_oa0 = is_fwd ? fold(addr_sum(a_dst, 1'b0)) : fold(addr_sum(a_src, 1'b0));
    x_na4 = is_fwd ? fold(addr_sum({na_be[31:0], 96'd0}, 1'b0))
                   : fold(addr_sum({na_vip[31:0], 96'd0}, 1'b0));
    // (and each for both families, chosen after by ipv6: its gating in
    // front of the adder tree and fold was 8 LUT levels into x_oav; the
    // new address's sums from the entries as they hold them, where na_be
    // and na_vip move an IPv4 address by the family: 0 sums words 6-7,
    // which they move to 0-1)
    x_na6 = is_fwd ? (d_parsed.ipv6 ? addr_sum6(ra_be) : addr_sum(ra_be, 1'b0))
                   : (d_parsed.ipv6 ? addr_sum6(ra_vip) : addr_sum(ra_vip, 1'b0));
    x_oav = d_parsed.ipv6 ? (is_fwd ? fold(addr_sum6(a_dst)) : fold(addr_sum6(a_src))) : x_oa0;
    n_l4cs_en = !later && tcpudp && !d_parsed.icmp_error_valid;
    n_l4cs_udp = d_parsed.proto == 8'd17;
    n_l4cs_keep0 = n_l4cs_udp && !d_parsed.ipv6;
    n_l4cs_at = {2'd0, d_parsed.l4_offset} + (n_l4cs_udp ? 16'd6 : 16'd16);
    x_pe0 = n_port_en;
    x_op0 = old_port;
    x_np0 = n_port;

    // ---- NAT of an ICMP error (Way::ToBackend on FORWARD, ToClient on
    // REVERSE_NAT); the l4cs unit then updates the ICMP checksum
    n_icmp = d_parsed.icmp_error_valid;
    n_w1_en = 1'b0; n_w2_en = 1'b0;
    il3 = {2'd0, d_parsed.l4_offset} + 16'd8;
    il4 = il3 + {2'd0, d_parsed.icmp_error.l4_offset};
    q_end = {2'd0, d_parsed.l3_offset} + l3_len;
    // (both families, chosen after, as x_oav)
    x_oi = d_parsed.ipv6
        ? (is_fwd ? fold(addr_sum6(a_isrc)) : fold(addr_sum6(a_idst)))
        : (is_fwd ? fold(addr_sum(a_isrc, 1'b0)) : fold(addr_sum(a_idst, 1'b0)));
    x_nwv = is_fwd
        ? (d_parsed.ipv6 ? fold(addr_sum6(ra_be)) : fold(addr_sum(ra_be, 1'b0)))
        : (d_parsed.ipv6 ? fold(addr_sum6(ra_vip)) : fold(addr_sum(ra_vip, 1'b0)));
    n_addr2_at = il3 + (d_parsed.ipv6 ? (is_fwd ? 16'd8 : 16'd24) : (is_fwd ? 16'd12 : 16'd16));
    n_w1_at = il3 + 16'd10;
    n_w1_en = !d_parsed.ipv6;
    oldq_port = is_fwd ? d_parsed.icmp_error.sport : d_parsed.icmp_error.dport;
    n_w2_at = il4 + (d_parsed.icmp_error.proto == 8'd6 ? 16'd16 : 16'd6);
    q_l4 = (d_parsed.icmp_error.proto == 8'd6 || d_parsed.icmp_error.proto == 8'd17)
        && n_w2_at + 16'd2 <= q_end
        && (d_parsed.icmp_error.proto == 8'd6 || d_quote_l4_csum != 16'd0);
    if (n_icmp) begin
      n_port_en = d_backend.port != 16'd0;
      n_port_at = is_fwd ? il4 : il4 + 16'd2;
      n_port = is_fwd ? d_backend.port : d_vip.port;
    end
    x_ipe = n_icmp && n_port_en;
    x_iop = oldq_port;
    x_inp = n_port;
    x_ql4 = q_l4;
    x_p17 = d_parsed.icmp_error.proto == 8'd17;
    n_w2_en = q_l4;
    if (n_icmp) begin
      n_l4cs_en = 1'b1;
      n_l4cs_udp = 1'b0;
      n_l4cs_keep0 = 1'b0;
      n_l4cs_at = {2'd0, d_parsed.l4_offset} + 16'd2;
    end

    // ---- what to do
    case (d_decision.kind)
      lbnic_pipe_pkg::DECISION_PASS: begin
        n_kind = ST_PASS; n_emit = 1'b1; n_shift = 7'd0; n_outlen = d_meta.len; n_ol = OL_META;
        n_len = d_meta.len;
      end
      lbnic_pipe_pkg::DECISION_DROP: begin
        n_kind = ST_DROP; n_shift = 7'd0;
      end
      default: begin
        n_mac_en = 1'b1;
        if (is_rev) begin
          n_dmac = d_global.gateway_mac;
          n_nat = 1'b1;
        end else begin
          n_nat = mode == lbnic_pkg::MODE_NAT;
          n_encap = mode == lbnic_pkg::MODE_TUN_IPIP || mode == lbnic_pkg::MODE_TUN_GUE;
        end
        if (!n_encap) n_shift = 7'd0;
        if (n_nat && (is_fwd ? be_v6 : vip_v6) != d_parsed.ipv6) begin
          n_kind = ST_FAMILY;
        end else if (n_encap) begin
          n_len = enc_len[15:0];
          n_max = enc_lim[15:0];
          n_outlen = enc_len[15:0]; n_ol = OL_ENC;
          if (enc_len > enc_lim) n_kind = ST_TOO_BIG;
          else n_emit = 1'b1;
        end else begin
          n_len = keep[15:0];
          n_outlen = keep[15:0]; n_ol = OL_KEEP;
          if (keep_big) n_kind = ST_TOO_BIG;
          else n_emit = 1'b1;
        end
      end
    endcase
  end

  always_comb begin
    logic [15:0] keep_m1, l23;
    lob_meta = (d_meta.len - 16'd1) >> LB;
    // enc_len - 1 (mod 2^16): a sum for each of the four shifts, chosen
    // after (the choice of the shift in front of the add was 8 levels)
    l23 = {2'd0, d_parsed.l2_len} + l3_len;
    lob_enc = n_gue ? (be_v6 ? (l23 + 16'd47) >> LB : (l23 + 16'd27) >> LB)
                    : (be_v6 ? (l23 + 16'd39) >> LB : (l23 + 16'd19) >> LB);
    keep_m1 = keep_pad
        ? ((frame_len < 17'd60) ? d_meta.len - 16'd1 : 16'd59)
        : {2'd0, d_parsed.l3_offset} + l3_len - 16'd1;
    lob_keep = keep_m1 >> LB;
    case (n_ol)
      OL_ENC: n_last_ob = lob_enc;
      OL_KEEP: n_last_ob = lob_keep;
      default: n_last_ob = lob_meta;
    endcase
  end

  // ------------------------------------- the plan's checksums, in stages
  // The checksum arithmetic of a plan (sums of 16-octet addresses, folded,
  // then added again: 32 LUT levels in the clock the descriptor is taken)
  // runs over the three clocks the packet buffer takes to return the
  // frame's first beat after the descriptor (lbnic_top issues the read as
  // it moves to the frame), so it costs no cycle: stage 1 registers the
  // operands at `take`, stages 2 and 3 the partial results, and the fourth
  // clock loads the plan. `plan_ready` holds the stream until then, for a
  // frame that would come sooner (none does in lbnic_top). The same
  // integers as in one clock: only where the registers sit moved (and
  // sums regrouped: a ones'-complement fold of a positive sum is its
  // residue in [1, 0xffff], so folding part of a positive sum first
  // changes nothing).
  logic [2:0]  pl_v;
  logic        plan_ready;
  assign plan_ready = pl_v == 3'd0;
  // stage 1: operands (the tunnel source itself: its sums take stage 2)
  logic [127:0] r1_tsrc;
  logic [23:0] r1_td0, r1_tdv;
  logic [23:0] r1_na6;
  logic [15:0] r1_oa0, r1_oav, r1_na4, r1_oi, r1_nwv, r1_op0, r1_np0, r1_iop, r1_inp;
  logic [15:0] r1_ip_total, r1_ulen, r1_sport, r1_gue, r1_l3_sum, r1_qip, r1_cur;
  logic [7:0]  r1_proto, r1_tos;
  logic        r1_df, r1_v6, r1_be_v6, r1_pe0, r1_ipe, r1_ql4, r1_p17, r1_icmp;
  always_ff @(posedge clk) begin
    if (take) begin
      r1_tsrc <= tsrc; r1_td0 <= x_td0; r1_tdv <= x_tdv;
      r1_oa0 <= x_oa0; r1_oav <= x_oav; r1_na4 <= x_na4; r1_na6 <= x_na6;
      r1_oi <= x_oi; r1_nwv <= x_nwv;
      r1_op0 <= x_op0; r1_np0 <= x_np0; r1_iop <= x_iop; r1_inp <= x_inp;
      r1_ip_total <= ip_total; r1_ulen <= ulen; r1_sport <= sport; r1_gue <= d_global.gue_port;
      r1_l3_sum <= d_l3_sum; r1_qip <= d_quote_ip_csum; r1_cur <= d_quote_l4_csum;
      r1_proto <= proto_out; r1_tos <= d_parsed.tos; r1_df <= d_parsed.df;
      r1_v6 <= d_parsed.ipv6; r1_be_v6 <= be_v6; r1_pe0 <= x_pe0; r1_ipe <= x_ipe;
      r1_ql4 <= x_ql4; r1_p17 <= x_p17; r1_icmp <= n_icmp;
    end
  end
  // stage 2: the tunnel source's sums; the outer IPv4 and GUE UDP sums
  // without them; the NAT deltas; the ICMP error's address deltas, the
  // quoted TCP/UDP checksum after the port
  logic [23:0] r2_ts0, r2_tsv, r2_ip4, r2_u, r2_e;
  logic [15:0] r2_ipcs, r2_l4d0, r2_dout, r2_din, r2_qip, r2_c;
  logic        r2_v6, r2_be_v6, r2_ie, r2_ql4, r2_p17, r2_icmp;
  always_ff @(posedge clk) begin
    if (pl_v[0]) begin
      logic [23:0] a;
      r2_ts0 <= addr_sum(r1_tsrc, 1'b0);
      r2_tsv <= addr_sum(r1_tsrc, r1_be_v6);
      r2_ip4 <= ((24'h4500 + {8'd0, r1_ip_total}) + ({8'd0, 8'd64, r1_proto} + r1_td0))
                + ({16'd0, r1_tos} + (r1_df ? 24'h4000 : 24'd0));
      r2_u <= ((r1_tdv + 24'd17) + ({8'd0, r1_ulen} + {8'd0, r1_sport}))
              + (({8'd0, r1_gue} + {8'd0, r1_ulen}) + {8'd0, r1_l3_sum});
      r2_ipcs <= delta(r1_oa0, r1_na4);
      a = {8'd0, ~r1_oav} + (r1_v6 ? r1_na6 : {8'd0, r1_na4});
      if (r1_pe0) a = a + {8'd0, ~r1_op0} + {8'd0, r1_np0};
      r2_l4d0 <= fold(a);
      r2_dout <= delta(r1_oav, r1_nwv);
      r2_din <= delta(r1_oi, r1_nwv);
      // the quoted TCP/UDP checksum after the port (else as the frame has it)
      r2_ie <= r1_ipe && r1_ql4;
      r2_c <= (r1_ipe && r1_ql4) ? ~fold({8'd0, ~r1_cur} + {8'd0, ~r1_iop} + {8'd0, r1_inp})
                                 : r1_cur;
      // the ICMP checksum's terms known here: the port's, the old quoted
      // checksum's
      r2_e <= (r1_ipe ? {8'd0, ~r1_iop} + {8'd0, r1_inp} : 24'd0)
              + ((r1_ipe && r1_ql4) ? {8'd0, ~r1_cur} : 24'd0);
      r2_qip <= r1_qip;
      r2_v6 <= r1_v6; r2_be_v6 <= r1_be_v6; r2_ql4 <= r1_ql4;
      r2_p17 <= r1_p17; r2_icmp <= r1_icmp;
    end
  end
  // stage 3: the outer IPv4 and GUE UDP checksums; the quoted IPv4
  // header's checksum; the quoted TCP/UDP checksum after the address; the
  // ICMP checksum's sum of what is known
  logic [15:0] r3_ip4, r3_ucs, r3_ipcs, r3_l4d0, r3_qhc, r3_c2;
  logic [23:0] r3_ia;
  logic        r3_v6, r3_be_v6, r3_ql4, r3_icmp;
  always_ff @(posedge clk) begin
    if (pl_v[1]) begin
      logic [15:0] u, c2;
      r3_ip4 <= ~fold(r2_ip4 + r2_ts0);
      u = ~fold(r2_u + r2_tsv);
      r3_ucs <= (u == 16'd0) ? 16'hffff : u;
      r3_qhc <= upd(r2_qip, r2_din);
      c2 = upd(r2_c, r2_din);
      r3_c2 <= (r2_p17 && upd_zero(r2_c, r2_din)) ? 16'hffff : c2;
      r3_ia <= ((r2_v6 ? {8'd0, r2_dout} : 24'd0) + {8'd0, r2_din})
               + (r2_e + (r2_ie ? {8'd0, r2_c} : 24'd0))
               + ((r2_v6 ? 24'd0 : {8'd0, ~r2_qip}) + (r2_ql4 ? {8'd0, ~r2_c} : 24'd0));
      r3_ipcs <= r2_ipcs; r3_l4d0 <= r2_l4d0;
      r3_v6 <= r2_v6; r3_be_v6 <= r2_be_v6; r3_ql4 <= r2_ql4; r3_icmp <= r2_icmp;
    end
  end
  // stage 4 (into the plan): the ICMP checksum
  logic [15:0] s4_l4cs_d;
  logic [23:0] s4_ia;
  always_comb begin
    s4_ia = r3_ia + ((r3_v6 ? 24'd0 : {8'd0, r3_qhc}) + (r3_ql4 ? {8'd0, r3_c2} : 24'd0));
    s4_l4cs_d = r3_icmp ? fold(s4_ia) : r3_l4d0;
  end

  // ---------------------------------------------------------- streaming
  typedef enum logic [1:0] {S_IDLE, S_STREAM, S_TAIL} state_e;
  state_e state;
  logic [IB-1:0] ib;
  logic [BW-1:0] prev, cur;
  logic need_out, fire_in, fin, tail_next, take;
  // ib against p_last_ob, kept in registers stepped with ib (ob_in: ib <=
  // p_last_ob, ob_more: <, ob_last: ==) from r_left = p_last_ob - ib
  // (signed: input beats go on past a shorter output): the compares were
  // 9 LUT levels through s_tready into the packet buffer's read (issue 13)
  logic [IB:0] r_left;
  logic ob_in, ob_more, ob_last;

  always_comb begin
    need_out = p_emit && ob_in;
    cur = (state == S_TAIL) ? '0 : s_tdata;
    tail_next = p_emit && ob_more;
    if (state == S_STREAM) begin
      s_tready = plan_ready && (need_out ? m_tready : 1'b1);
      m_tvalid = plan_ready && s_tvalid && need_out;
    end else begin
      s_tready = 1'b0;
      m_tvalid = state == S_TAIL;
    end
    fire_in = s_tvalid && s_tready;
    fin = (state == S_STREAM && fire_in && s_tlast && !tail_next)
        || (state == S_TAIL && m_tready);
    d_ready = (state == S_IDLE || fin) && (!st_valid || st_ready);
    take = d_valid && d_ready;
    m_tlast = ob_last;
  end

  // the output beat
  logic [8*HDR-1:0] hdr;
  logic [2*BW-1:0] cat;
  assign cat = {cur, prev};
  // The checksum updates (RFC 1624) for every 16-bit word of the beat,
  // the output then picks the field's word: the fields sit at even
  // offsets (l3 and l4 offsets are even), and a read at the offset before
  // the add was the beat's deepest path (12 LUT levels). A UDP result of 0
  // is sent 0xffff. The words are s_tdata's, not cur's: S_TAIL's zero
  // beat (cur) in front of the adds, and upd_zero's compares behind them,
  // were the packet buffer's read data to TX, 8 LUT levels through
  // lbnic_top; S_TAIL's word of 0 is updated apart (ipcs_z, l4cs_z), and
  // ~o + d is 0xffff (o == d) where its add carries with 1 added and not
  // without (the other zero, 0x1fffe, is o == 0 and d == 0xffff).
  logic [BW-1:0] ipcs_sv, l4cs_sv;  // each word of s_tdata updated, bytes in place
  logic [15:0] ipcs_z, l4cs_z;      // a word of 0 updated
  logic tail, l4cs_dff;
  always_comb begin
    hdr = p_hdr;
    tail = state == S_TAIL;
    l4cs_dff = p_l4cs_d == 16'hffff;
    ipcs_z = upd(16'd0, p_ipcs_d);
    l4cs_z = upd(16'd0, p_l4cs_d);
    if (p_l4cs_udp && upd_zero(16'd0, p_l4cs_d)) l4cs_z = 16'hffff;
    if (p_l4cs_keep0) l4cs_z = 16'd0;
    for (int k = 0; k < DB / 2; k++) begin
      logic [15:0] o, n;
      logic [16:0] a0, a1;
      logic oz;
      o = {s_tdata[16*k +: 8], s_tdata[16*k+8 +: 8]};
      oz = o == 16'd0;
      a0 = {1'b0, ~o} + {1'b0, p_ipcs_d};
      a1 = {1'b0, ~o} + {1'b0, p_ipcs_d} + 17'd1;
      n = a0[16] ? ~a1[15:0] : ~a0[15:0];
      ipcs_sv[16*k +: 16] = {n[7:0], n[15:8]};
      a0 = {1'b0, ~o} + {1'b0, p_l4cs_d};
      a1 = {1'b0, ~o} + {1'b0, p_l4cs_d} + 17'd1;
      n = a0[16] ? ~a1[15:0] : ~a0[15:0];
      if (p_l4cs_udp && ((a1[16] && !a0[16]) || (oz && l4cs_dff))) n = 16'hffff;
      if (p_l4cs_keep0 && oz) n = 16'd0;
      l4cs_sv[16*k +: 16] = {n[7:0], n[15:8]};
    end
  end

  logic [BW-1:0] macv;
  assign macv = BW'({p_smac, p_dmac});
  // a register below a lane's constant, signed
  function automatic logic lt(input logic signed [RW-1:0] r, input logic signed [RW-1:0] c);
    lt = r < c;
  endfunction
  // Which lanes each field covers, registered a clock ahead: on the
  // registers' next values, which a beat moves by DB (so a compare with the
  // lane's constant plus DB) and which nothing else moves in the three
  // clocks before a plan's first beat (the plan's load: take, then the
  // ends at pl_v[0]; plan_ready holds the stream until pl_v is empty). The
  // field compares were the beat path's first half (issue 13).
  logic [DB-1:0] k_base, k_hdr, k_a, k_a2, k_w1h, k_w1l, k_w2h, k_w2l, k_ph, k_pl, k_ipcs,
                 k_l4cs, k_keep;
  always_ff @(posedge clk) begin
    for (int j = 0; j < DB; j++) begin
      if (fire_in) begin
        k_base[j] <= !lt(r_l2, RW'(j + 1 + DB));
        k_hdr[j] <= lt(r_l2, RW'(j + 3 + DB)) && !lt(r_l2e, RW'(j + 1 + DB));
        k_a[j] <= lt(r_a, RW'(j + 1 + DB)) && !lt(r_ae, RW'(j + 1 + DB));
        k_a2[j] <= lt(r_a2, RW'(j + 1 + DB)) && !lt(r_a2e, RW'(j + 1 + DB));
        k_w1h[j] <= r_w1 == RW'(j + DB);
        k_w1l[j] <= r_w1 == RW'(j - 1 + DB);
        k_w2h[j] <= r_w2 == RW'(j + DB);
        k_w2l[j] <= r_w2 == RW'(j - 1 + DB);
        k_ph[j] <= r_port == RW'(j + DB);
        k_pl[j] <= r_port == RW'(j - 1 + DB);
        k_ipcs[j] <= r_ipcs == RW'(j + DB) || r_ipcs == RW'(j - 1 + DB);
        k_l4cs[j] <= r_l4cs == RW'(j + DB) || r_l4cs == RW'(j - 1 + DB);
        k_keep[j] <= !lt(r_rem, RW'(j + 1 + DB));
      end else begin
        k_base[j] <= !lt(r_l2, RW'(j + 1));
        k_hdr[j] <= lt(r_l2, RW'(j + 3)) && !lt(r_l2e, RW'(j + 1));
        k_a[j] <= lt(r_a, RW'(j + 1)) && !lt(r_ae, RW'(j + 1));
        k_a2[j] <= lt(r_a2, RW'(j + 1)) && !lt(r_a2e, RW'(j + 1));
        k_w1h[j] <= r_w1 == RW'(j);
        k_w1l[j] <= r_w1 == RW'(j - 1);
        k_w2h[j] <= r_w2 == RW'(j);
        k_w2l[j] <= r_w2 == RW'(j - 1);
        k_ph[j] <= r_port == RW'(j);
        k_pl[j] <= r_port == RW'(j - 1);
        k_ipcs[j] <= r_ipcs == RW'(j) || r_ipcs == RW'(j - 1);
        k_l4cs[j] <= r_l4cs == RW'(j) || r_l4cs == RW'(j - 1);
        k_keep[j] <= !lt(r_rem, RW'(j + 1));
      end
    end
  end
  // A lane's byte: the last of the overwrites below whose field covers
  // it, else the frame's byte (before the L2 end) or the shifted one. The
  // overwrites are tested side by side and one is chosen by an AND-OR of
  // one-hot selects (each field's hit, none after it), not a priority
  // chain of 12 muxes: the beat path's depth (issue 13). The frame's
  // bytes (the current beat's, the shifted ones from it) and its checksum
  // words join that AND-OR as terms of their own, their selects made of
  // registers only, so s_tdata meets no select but the last OR's: the
  // shift's choice in front of it was the read data's path to TX.
  localparam int unsigned NSRC = 12;
  logic sh20, sh28, sh40, sh48, sh0;
  always_comb begin
    sh20 = p_shift == 7'd20;
    sh28 = p_shift == 7'd28;
    sh40 = p_shift == 7'd40;
    sh48 = p_shift == 7'd48;
    sh0 = !(sh20 || sh28 || sh40 || sh48);
    for (int j = 0; j < DB; j++) begin
      logic [5:0] hi;
      logic [3:0] ai, a2i;
      logic [NSRC-1:0] c, sel;
      logic [8*NSRC-1:0] d;
      logic [7:0] v;
      logic nb;
      // the byte's index in the header to insert, and in the new address
      hi = 6'(j + 2) - r_l2[5:0];
      ai = 4'(j) - r_a[3:0];
      a2i = 4'(j) - r_a2[3:0];
      // in the order they overwrite (a later one wins)
      c[0] = p_mac_en && ib == '0 && j < 12;
      d[8*0 +: 8] = macv[8*j +: 8];
      c[1] = p_encap && k_hdr[j];
      d[8*1 +: 8] = hdr[8*hi +: 8];
      c[2] = p_nat && k_a[j];
      d[8*2 +: 8] = p_addr[8*ai +: 8];
      c[3] = p_nat && p_icmp && k_a2[j];
      d[8*3 +: 8] = p_addr[8*a2i +: 8];
      c[4] = p_nat && p_icmp && p_w1_en && k_w1h[j];
      d[8*4 +: 8] = p_w1[15:8];
      c[5] = p_nat && p_icmp && p_w1_en && k_w1l[j];
      d[8*5 +: 8] = p_w1[7:0];
      c[6] = p_nat && p_icmp && p_w2_en && k_w2h[j];
      d[8*6 +: 8] = p_w2[15:8];
      c[7] = p_nat && p_icmp && p_w2_en && k_w2l[j];
      d[8*7 +: 8] = p_w2[7:0];
      c[8] = p_nat && p_port_en && k_ph[j];
      d[8*8 +: 8] = p_port[15:8];
      c[9] = p_nat && p_port_en && k_pl[j];
      d[8*9 +: 8] = p_port[7:0];
      c[10] = p_nat && p_ipcs_en && k_ipcs[j];
      d[8*10 +: 8] = (j % 2 == 0) ? ipcs_z[15:8] : ipcs_z[7:0];
      c[11] = p_nat && p_l4cs_en && k_l4cs[j];
      d[8*11 +: 8] = (j % 2 == 0) ? l4cs_z[15:8] : l4cs_z[7:0];
      for (int k = 0; k < NSRC; k++) sel[k] = c[k] && (c >> (k + 1)) == '0;
      nb = c == '0;
      // the checksum words of 0 only in S_TAIL (cur is 0 there)
      v = '0;
      for (int k = 0; k < NSRC; k++) v = v | ({8{sel[k] && (k < 10 || tail)}} & d[8*k +: 8]);
      // cat's bytes: cur's (0 in S_TAIL) from s_tdata, prev's as they are
      v = v | ({8{nb && !tail && (k_base[j] || sh0)}} & s_tdata[8*j +: 8]);
      if (j >= 20) v = v | ({8{nb && !tail && !k_base[j] && sh20}} & s_tdata[8*(j-20) +: 8]);
      else if (j + DB >= 20) v = v | ({8{nb && !k_base[j] && sh20}} & prev[8*(j+DB-20) +: 8]);
      if (j >= 28) v = v | ({8{nb && !tail && !k_base[j] && sh28}} & s_tdata[8*(j-28) +: 8]);
      else if (j + DB >= 28) v = v | ({8{nb && !k_base[j] && sh28}} & prev[8*(j+DB-28) +: 8]);
      if (j >= 40) v = v | ({8{nb && !tail && !k_base[j] && sh40}} & s_tdata[8*(j-40) +: 8]);
      else if (j + DB >= 40) v = v | ({8{nb && !k_base[j] && sh40}} & prev[8*(j+DB-40) +: 8]);
      if (j >= 48) v = v | ({8{nb && !tail && !k_base[j] && sh48}} & s_tdata[8*(j-48) +: 8]);
      else if (j + DB >= 48) v = v | ({8{nb && !k_base[j] && sh48}} & prev[8*(j+DB-48) +: 8]);
      v = v | ({8{sel[10] && !tail}} & ipcs_sv[8*j +: 8]);
      v = v | ({8{sel[11] && !tail}} & l4cs_sv[8*j +: 8]);
      m_tdata[8*j +: 8] = v;
    end
    for (int j = 0; j < DB; j++)
      m_tkeep[j] = !m_tlast || k_keep[j];
  end

  always_ff @(posedge clk) begin
    if (pl_v[0]) begin
      r_l2e <= r_l2 + RW'(p_shift);
      r_ae <= r_a + RW'(p_addr_len);
      r_a2e <= r_a2 + RW'(p_addr_len);
    end
    if (pl_v[2]) begin
      p_ipcs_d <= r3_ipcs;
      p_l4cs_d <= s4_l4cs_d;
      p_w1 <= r3_v6 ? 16'd0 : r3_qhc;
      p_w2 <= r3_ql4 ? r3_c2 : 16'd0;
      // the outer IPv4 checksum and the GUE UDP checksum into the header
      // bytes
      if (!r3_be_v6) p_hdr[8*12 +: 16] <= {r3_ip4[7:0], r3_ip4[15:8]};
      if (r3_be_v6) p_hdr[8*(UDP_AT6+UDP_CS) +: 16] <= {r3_ucs[7:0], r3_ucs[15:8]};
      else p_hdr[8*(UDP_AT4+UDP_CS) +: 16] <= {r3_ucs[7:0], r3_ucs[15:8]};
    end
    if (rst) begin
      state <= S_IDLE;
      st_valid <= 1'b0;
      ib <= '0;
      r_left <= '0;
      ob_in <= 1'b1;
      ob_more <= 1'b0;
      ob_last <= 1'b1;
      pl_v <= '0;
    end else begin
      pl_v <= {pl_v[1:0], take};
      if (st_valid && st_ready) st_valid <= 1'b0;
      if (fire_in) begin
        prev <= s_tdata;
        ib <= ib + 1'b1;
        r_left <= r_left - 1'b1;
        ob_in <= ob_more;
        ob_more <= !r_left[IB] && r_left > (IB + 1)'(1);
        ob_last <= r_left == (IB + 1)'(1);
        r_l2 <= r_l2 - RW'(DB); r_l2e <= r_l2e - RW'(DB);
        r_a <= r_a - RW'(DB); r_ae <= r_ae - RW'(DB);
        r_a2 <= r_a2 - RW'(DB); r_a2e <= r_a2e - RW'(DB);
        r_w1 <= r_w1 - RW'(DB); r_w2 <= r_w2 - RW'(DB); r_port <= r_port - RW'(DB);
        r_ipcs <= r_ipcs - RW'(DB); r_l4cs <= r_l4cs - RW'(DB); r_rem <= r_rem - RW'(DB);
        if (s_tlast) state <= tail_next ? S_TAIL : S_IDLE;
      end
      if (state == S_TAIL && m_tready) state <= S_IDLE;
      if (take) begin
        state <= S_STREAM;
        ib <= '0;
        st_valid <= 1'b1;
        st_kind <= n_kind;
        st_drop_counter <= d_decision.drop_counter;
        st_forward <= is_fwd;
        st_len <= n_len;
        st_max <= n_max;
        p_emit <= n_emit; p_encap <= n_encap; p_mac_en <= n_mac_en; p_nat <= n_nat;
        p_gue <= n_gue;
        p_icmp <= n_icmp && n_nat; p_w1_en <= n_w1_en; p_w2_en <= n_w2_en;
        r_a2 <= RW'(n_addr2_at); r_w1 <= RW'(n_w1_at); r_w2 <= RW'(n_w2_at);
        p_shift <= n_shift; r_rem <= RW'(n_outlen);
        p_last_ob <= n_last_ob[IB-1:0];
        r_left <= {1'b0, n_last_ob[IB-1:0]};
        ob_in <= 1'b1;
        ob_more <= n_last_ob[IB-1:0] != '0;
        ob_last <= n_last_ob[IB-1:0] == '0;
        p_dmac <= n_dmac; p_smac <= n_smac;
        r_l2 <= RW'(d_parsed.l2_len);
        p_hdr <= n_hdr;
        r_a <= RW'(n_addr_at); p_addr_len <= n_addr_len; p_addr <= n_addr;
        p_port_en <= n_port_en; r_port <= RW'(n_port_at); p_port <= n_port;
        p_ipcs_en <= n_ipcs_en; r_ipcs <= RW'(n_ipcs_at);
        p_l4cs_en <= n_l4cs_en; p_l4cs_udp <= n_l4cs_udp; p_l4cs_keep0 <= n_l4cs_keep0;
        r_l4cs <= RW'(n_l4cs_at);
      end
    end
  end

`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && keep_big != (keep > {1'b0, d_global.max_frame}))
      $error("lbnic_rewrite: keep_big apart from keep > max_frame");

  // m_tdata against the beat as it was built (from cur, with the shift
  // chosen and upd_zero's compares in front of the lanes' AND-OR)
  logic [BW-1:0] shifted_ref, ipcs_nv_ref, l4cs_nv_ref, m_tdata_ref;
  always_comb begin
    case (p_shift)
      7'd20: shifted_ref = cat[8*(DB-20) +: BW];
      7'd28: shifted_ref = cat[8*(DB-28) +: BW];
      7'd40: shifted_ref = cat[8*(DB-40) +: BW];
      7'd48: shifted_ref = cat[8*(DB-48) +: BW];
      default: shifted_ref = cur;
    endcase
    for (int k = 0; k < DB / 2; k++) begin
      logic [15:0] o, n;
      o = {cur[16*k +: 8], cur[16*k+8 +: 8]};
      n = upd(o, p_ipcs_d);
      ipcs_nv_ref[16*k +: 16] = {n[7:0], n[15:8]};
      n = upd(o, p_l4cs_d);
      if (p_l4cs_udp && upd_zero(o, p_l4cs_d)) n = 16'hffff;
      if (p_l4cs_keep0 && o == 16'd0) n = 16'd0;
      l4cs_nv_ref[16*k +: 16] = {n[7:0], n[15:8]};
    end
    for (int j = 0; j < DB; j++) begin
      logic [5:0] hi;
      logic [3:0] ai, a2i;
      logic [NSRC-1:0] c, sel;
      logic [8*NSRC-1:0] d;
      logic [7:0] v;
      hi = 6'(j + 2) - r_l2[5:0];
      ai = 4'(j) - r_a[3:0];
      a2i = 4'(j) - r_a2[3:0];
      c[0] = p_mac_en && ib == '0 && j < 12;
      d[8*0 +: 8] = macv[8*j +: 8];
      c[1] = p_encap && k_hdr[j];
      d[8*1 +: 8] = hdr[8*hi +: 8];
      c[2] = p_nat && k_a[j];
      d[8*2 +: 8] = p_addr[8*ai +: 8];
      c[3] = p_nat && p_icmp && k_a2[j];
      d[8*3 +: 8] = p_addr[8*a2i +: 8];
      c[4] = p_nat && p_icmp && p_w1_en && k_w1h[j];
      d[8*4 +: 8] = p_w1[15:8];
      c[5] = p_nat && p_icmp && p_w1_en && k_w1l[j];
      d[8*5 +: 8] = p_w1[7:0];
      c[6] = p_nat && p_icmp && p_w2_en && k_w2h[j];
      d[8*6 +: 8] = p_w2[15:8];
      c[7] = p_nat && p_icmp && p_w2_en && k_w2l[j];
      d[8*7 +: 8] = p_w2[7:0];
      c[8] = p_nat && p_port_en && k_ph[j];
      d[8*8 +: 8] = p_port[15:8];
      c[9] = p_nat && p_port_en && k_pl[j];
      d[8*9 +: 8] = p_port[7:0];
      c[10] = p_nat && p_ipcs_en && k_ipcs[j];
      d[8*10 +: 8] = ipcs_nv_ref[8*j +: 8];
      c[11] = p_nat && p_l4cs_en && k_l4cs[j];
      d[8*11 +: 8] = l4cs_nv_ref[8*j +: 8];
      for (int k = 0; k < NSRC; k++) sel[k] = c[k] && (c >> (k + 1)) == '0;
      if (c != '0) v = 8'd0;
      else if (k_base[j]) v = cur[8*j +: 8];
      else v = shifted_ref[8*j +: 8];
      for (int k = 0; k < NSRC; k++) v = v | ({8{sel[k]}} & d[8*k +: 8]);
      m_tdata_ref[8*j +: 8] = v;
    end
  end
  always_ff @(posedge clk)
    if (!rst && m_tdata != m_tdata_ref)
      $error("lbnic_rewrite: m_tdata apart from the beat as built from cur");
  // the sums chosen after the adds against the family gated in front
  always_ff @(posedge clk)
    if (!rst && (x_oav != (is_fwd ? fold(addr_sum(a_dst, d_parsed.ipv6))
                                  : fold(addr_sum(a_src, d_parsed.ipv6)))
                 || x_oi != (is_fwd ? fold(addr_sum(a_isrc, d_parsed.ipv6))
                                    : fold(addr_sum(a_idst, d_parsed.ipv6)))
                 || x_nwv != (is_fwd
                     ? fold(addr_sum(d_parsed.ipv6 ? na_be : {na_be[31:0], 96'd0}, d_parsed.ipv6))
                     : fold(addr_sum(d_parsed.ipv6 ? na_vip : {na_vip[31:0], 96'd0}, d_parsed.ipv6)))
                 || x_na6 != (is_fwd ? addr_sum(na_be, 1'b1) : addr_sum(na_vip, 1'b1))))
      $error("lbnic_rewrite: NAT address sums apart from the family-gated ones");
  always_ff @(posedge clk)
    if (!rst && state != S_IDLE
        && (ob_in != (ib <= p_last_ob) || ob_more != (ib < p_last_ob) || ob_last != (ib == p_last_ob)))
      $error("lbnic_rewrite: ob_* apart from ib and p_last_ob");
  always_ff @(posedge clk)
    if (!rst && take && n_emit && n_last_ob != (n_outlen - 16'd1) >> LB)
      $error("lbnic_rewrite: n_last_ob apart from n_outlen");
`endif

  logic unused;
  assign unused = ^{s_tkeep, cat, n_last_ob, p_gue, d_meta, d_parsed, d_vip, d_backend,
                    d_global, d_decision};
endmodule
