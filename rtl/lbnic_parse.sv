// The parser (spec §12.1.1, hw_model::packet::parse): a frame's header
// window (its first W = lbnic_pkg::PARSE_WINDOW bytes, zero past the frame's
// end, byte k on bits [8k+7:8k]) and its length -> lbnic_pipe_pkg::parsed_t.
//
// status PARSE_OK: every field equals the Rust `Parsed` (addresses as
// 16 octets, IPv4 mapped ::ffff:a.b.c.d; `vlan_valid` / `icmp_error_valid`
// for the Options). PARSE_ERROR: `reason` is the ParseReason of the Rust
// error; PARSE_NOT_LB: the Rust error has no reason (NotIp, UnsupportedL4,
// IcmpNotError, UnsupportedInner). On a refusal the other fields are
// whatever was parsed before it (not part of the contract).
//
// The checks are made in the Rust code's order, so a frame broken in two
// ways gets the same error as in the model. Headers the parser must read
// that end past the window are `ext_header_chain` (§12.1.1).
//
// Pipeline: one descriptor per clock, fixed latency LATENCY = 20: a
// descriptor accepted at rising edge k (in_valid && in_ready) is on out_*
// with out_valid after edge k + LATENCY - 1, i.e. it can be taken at edge
// k + LATENCY at the earliest. Stages (issue 13: the extension-header walks
// were one combinational stage, ~105 LUT levels; they are one header per
// clock now, lbnic_parse_ext):
//   S0        registers the input, what the VLAN tags decide, and for
//             each of the IP header's 3 places its fields' checks and
//             the length's compares;
//   A         (S0 -> S1) the IP header's checks at the 3 places side by
//             side, the tags' place chosen after them;
//   X1..X8    the packet's IPv6 extension-header walk (lbnic_parse_ext);
//   B1        (-> S10) the walk's result, the L4 header and an ICMP error's
//             quoted IP header read at the L4 offset (the offset taken from
//             the walk's registers, not from its result);
//   Y1..Y8    the quote's own extension-header walk (lbnic_parse_ext);
//             beside Y1, from S10's registers, B2's length and offset
//             checks and an IPv4 quote's L4 header read (riding along);
//   B2        (-> output) TCP / UDP / ICMP and the quote's checks in the
//             Rust order, from those flags and the quote walk's outcome.
// Depth (issue 13, scripts/synth.sh --top lbnic_parse): see
// docs/performance.md "Synthesis"; each stage keeps to a read (a 64:1 word
// mux) and one add or compare, or a priority choice over registered flags.
// LATENCY = 2 + 2 * lbnic_parse_ext's STAGES + 2 = lbnic_pkg::PARSE_LATENCY
// (the contract's number, which the cycle model's FRONT latency counts;
// the testbench checks it). A full pipeline stalls as a whole while
// out_ready is low (in_ready = !out_valid || out_ready).
module lbnic_parse #(
    parameter int unsigned W = lbnic_pkg::PARSE_WINDOW
) (
    input  logic clk,
    input  logic rst,
    input  logic                    in_valid,
    output logic                    in_ready,
    input  logic [8*W-1:0]          in_window,
    input  logic [15:0]             in_len,
    output logic                    out_valid,
    input  logic                    out_ready,
    output lbnic_pipe_pkg::parsed_t out_parsed
);
  // lbnic_parse_ext's registered steps (MAX_EXT headers, one a clock)
  localparam int unsigned XS = 8;
  localparam int unsigned LATENCY = 2 + XS + 1 + XS + 1;
  // The contract's number (the cycle model's FRONT latency counts it).
  if (LATENCY != lbnic_pkg::PARSE_LATENCY) begin : g_latency_check
    $error("lbnic_parse: LATENCY %0d != lbnic_pkg::PARSE_LATENCY", LATENCY);
  end
  localparam logic [1:0] EXT_OK = 2'd0;
  localparam logic [1:0] EXT_WINDOW = 2'd3;
  localparam int unsigned AW = $clog2(W);
  localparam int unsigned NW = W / 4;  // 4-byte words from byte 2
  localparam logic [17:0] WIN = 18'(W);

  logic adv;
  assign adv = !out_valid || out_ready;
  assign in_ready = adv;

  function automatic logic [7:0] byte_at(input logic [8*W-1:0] w, input int unsigned k);
    byte_at = w[8*k+:8];
  endfunction

  function automatic logic is_tag(input logic [15:0] et);
    is_tag = et == 16'h8100 || et == 16'h88a8;
  endfunction

  // ---------------------------------------------------------------- S0
  // The input register. Beside it, from the input, what the VLAN tags
  // decide (truncated; where the IP header is) and, for each of the IP
  // header's three places, the EtherType, the checks of the header's own
  // fields and the length's compares and the bytes from there on (issue
  // 13: stage A was 10 LUT levels, the tags choosing the place before the
  // IP checks against the bytes after it; here each is a compare or a
  // subtract and a gate, 4 levels).
  // Place i: the IP header at byte 14 + 4i, after i tags; its EtherType
  // at byte 12 + 4i.
  logic        l2_tag1;    // a tag at byte 12, and another at 16
  logic        l2_tag2;
  logic        l2_trunc;   // Ethernet or a tag past the frame's end
  logic        l2_vlan_valid;
  logic [1:0]  l2_at;      // the IP header's place: 0, 1 or 2
  logic [2:0]  l2_et_v4;   // the EtherType before place i is IPv4, IPv6
  logic [2:0]  l2_et_v6;
  logic [2:0]  l2_short4;  // fewer than 20 / 40 bytes from place i on
  logic [2:0]  l2_short6;
  logic [53:0] l2_rest;    // 18 bits per place: len - (14 + 4i)
  logic [53:0] l2_rest6;   // len - (14 + 4i) - 40: past an IPv6 header
  logic [2:0]  l3_ver4;    // an IPv4 header there: version not 4
  logic [2:0]  l3_ihl;     //   IHL under 5
  logic [2:0]  l3_tl_hl;   //   total length under the header's
  logic [2:0]  l3_ver6;    // an IPv6 header there: version not 6
  logic [2:0]  l3_pl0;     //   payload length 0
  always_comb begin
    l2_tag1 = is_tag({byte_at(in_window, 12), byte_at(in_window, 13)});
    l2_tag2 = is_tag({byte_at(in_window, 16), byte_at(in_window, 17)});
    l2_trunc = in_len < 16'd14 || (l2_tag1 && in_len < 16'd18)
               || (l2_tag1 && l2_tag2 && in_len < 16'd22);
    l2_vlan_valid = l2_tag1 && in_len >= 16'd18;
    // (a tag cut short leaves the place before it: l2_len and l3_offset
    // of a refused frame stay what they were)
    if (l2_tag1 && l2_tag2 && in_len >= 16'd22) l2_at = 2'd2;
    else if (l2_tag1 && in_len >= 16'd18) l2_at = 2'd1;
    else l2_at = 2'd0;
    for (int i = 0; i < 3; i++) begin
      l2_et_v4[i] = {byte_at(in_window, 12 + 4 * i), byte_at(in_window, 13 + 4 * i)} == 16'h0800;
      l2_et_v6[i] = {byte_at(in_window, 12 + 4 * i), byte_at(in_window, 13 + 4 * i)} == 16'h86dd;
      l2_short4[i] = in_len < 16'(34 + 4 * i);
      l2_short6[i] = in_len < 16'(54 + 4 * i);
      l2_rest[18*i+:18] = 18'(in_len) - 18'(14 + 4 * i);
      l2_rest6[18*i+:18] = 18'(in_len) - 18'(54 + 4 * i);
      l3_ver4[i] = in_window[8*(14+4*i)+4+:4] != 4'd4;
      l3_ihl[i] = in_window[8*(14+4*i)+:4] < 4'd5;
      // total length < IHL * 4, as total length / 4 < IHL
      l3_tl_hl[i] = {byte_at(in_window, 16 + 4 * i), byte_at(in_window, 17 + 4 * i)} >> 2
                    < 16'(in_window[8*(14+4*i)+:4]);
      l3_ver6[i] = in_window[8*(14+4*i)+4+:4] != 4'd6;
      l3_pl0[i] = {byte_at(in_window, 18 + 4 * i), byte_at(in_window, 19 + 4 * i)} == 16'd0;
    end
  end

  logic           s0_valid;
  logic [8*W-1:0] s0_win;
  logic           s0_l2_trunc;
  logic           s0_vlan_valid;
  logic [1:0]     s0_at;
  logic [2:0]     s0_et_v4;
  logic [2:0]     s0_et_v6;
  logic [2:0]     s0_short4;
  logic [2:0]     s0_short6;
  logic [53:0]    s0_rest;
  logic [53:0]    s0_rest6;
  logic [2:0]     s0_ver4;
  logic [2:0]     s0_ihl;
  logic [2:0]     s0_tl_hl;
  logic [2:0]     s0_ver6;
  logic [2:0]     s0_pl0;
  always_ff @(posedge clk) begin
    if (rst) s0_valid <= 1'b0;
    else if (adv) s0_valid <= in_valid;
    if (adv) begin
      s0_win <= in_window;
      s0_l2_trunc <= l2_trunc;
      s0_vlan_valid <= l2_vlan_valid;
      s0_at <= l2_at;
      s0_et_v4 <= l2_et_v4;
      s0_et_v6 <= l2_et_v6;
      s0_short4 <= l2_short4;
      s0_short6 <= l2_short6;
      s0_rest <= l2_rest;
      s0_rest6 <= l2_rest6;
      s0_ver4 <= l3_ver4;
      s0_ihl <= l3_ihl;
      s0_tl_hl <= l3_tl_hl;
      s0_ver6 <= l3_ver6;
      s0_pl0 <= l3_pl0;
    end
  end

  // ------------------------------------------------------ stage A (L2, L3)
  // The outcome were the IP header at each place, side by side: S0's
  // flags and the three compares against the bytes left, in the Rust
  // order; the tags' place is chosen after them, a 3:1 mux at the end.
  logic [14:0] a_vd;       // {status, reason} per place, 5 bits each
  logic [2:0]  a_ok4;      // the place's IPv4, IPv6 header passes
  logic [2:0]  a_ok6;
  for (genvar i = 0; i < 3; i++) begin : g_at
    localparam int unsigned P = 14 + 4 * i;
    logic [17:0] hl;
    logic [17:0] tl;
    logic [17:0] pl;       // IPv6 payload length
    logic [17:0] rest;
    logic [4:0]  vd;
    assign hl = 18'(s0_win[8*P+:4]) << 2;
    assign tl = 18'({byte_at(s0_win, P + 2), byte_at(s0_win, P + 3)});
    assign pl = 18'({byte_at(s0_win, P + 4), byte_at(s0_win, P + 5)});
    assign rest = s0_rest[18*i+:18];
    // the Rust order; 40 + payload > rest as payload > rest - 40 (rest >= 40)
    always_comb begin
      vd = {2'(lbnic_pipe_pkg::PARSE_OK), 3'(lbnic_pipe_pkg::REASON_TRUNCATED)};
      if (s0_l2_trunc)
        vd = {2'(lbnic_pipe_pkg::PARSE_ERROR), 3'(lbnic_pipe_pkg::REASON_TRUNCATED)};
      else if (s0_et_v6[i]) begin
        if (s0_short6[i])
          vd = {2'(lbnic_pipe_pkg::PARSE_ERROR), 3'(lbnic_pipe_pkg::REASON_TRUNCATED)};
        else if (s0_ver6[i])
          vd = {2'(lbnic_pipe_pkg::PARSE_ERROR), 3'(lbnic_pipe_pkg::REASON_BAD_IP_VERSION)};
        else if (s0_pl0[i] || pl > s0_rest6[18*i+:18])
          vd = {2'(lbnic_pipe_pkg::PARSE_ERROR), 3'(lbnic_pipe_pkg::REASON_BAD_LENGTH)};
      end else if (!s0_et_v4[i])
        vd = {2'(lbnic_pipe_pkg::PARSE_NOT_LB), 3'(lbnic_pipe_pkg::REASON_TRUNCATED)};
      else if (s0_short4[i])
        vd = {2'(lbnic_pipe_pkg::PARSE_ERROR), 3'(lbnic_pipe_pkg::REASON_TRUNCATED)};
      else if (s0_ver4[i])
        vd = {2'(lbnic_pipe_pkg::PARSE_ERROR), 3'(lbnic_pipe_pkg::REASON_BAD_IP_VERSION)};
      else if (s0_ihl[i])
        vd = {2'(lbnic_pipe_pkg::PARSE_ERROR), 3'(lbnic_pipe_pkg::REASON_BAD_IHL)};
      else if (hl > rest)
        vd = {2'(lbnic_pipe_pkg::PARSE_ERROR), 3'(lbnic_pipe_pkg::REASON_TRUNCATED)};
      else if (s0_tl_hl[i] || tl > rest)
        vd = {2'(lbnic_pipe_pkg::PARSE_ERROR), 3'(lbnic_pipe_pkg::REASON_BAD_LENGTH)};
    end
    assign a_vd[5*i+:5] = vd;
    // PARSE_OK only for an accepted header (not cut short, IPv4 or IPv6)
    assign a_ok4[i] = vd[4:3] == 2'(lbnic_pipe_pkg::PARSE_OK) && !s0_et_v6[i];
    assign a_ok6[i] = vd[4:3] == 2'(lbnic_pipe_pkg::PARSE_OK) && s0_et_v6[i];
  end

  lbnic_pipe_pkg::parsed_t a_p;
  logic        a_done;     // refused in stage A
  logic [17:0] a_end;      // l3_offset + l3_len
  logic [17:0] a_l3;
  logic [159:0] a_v4h;     // the IPv4 header's fixed 20 bytes
  logic [319:0] a_v6h;     // the IPv6 header
  logic [4:0]  a_verdict;  // the chosen place's {status, reason}, passes
  logic        a_pass4;
  logic        a_pass6;
  logic        a_et6;      // the chosen place's EtherType is IPv6
  logic [17:0] a_tl6;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [15:0] a_ff;
  /* verilator lint_on UNUSEDSIGNAL */

  // The tags' place, chosen after the checks.
  always_comb begin
    a_l3 = 18'd14;
    a_v4h = s0_win[8*14+:160];
    a_v6h = s0_win[8*14+:320];
    a_verdict = a_vd[4:0];
    a_pass4 = a_ok4[0];
    a_pass6 = a_ok6[0];
    a_et6 = s0_et_v6[0];
    if (s0_at == 2'd1) begin
      a_l3 = 18'd18;
      a_v4h = s0_win[8*18+:160];
      a_v6h = s0_win[8*18+:320];
      a_verdict = a_vd[9:5];
      a_pass4 = a_ok4[1];
      a_pass6 = a_ok6[1];
      a_et6 = s0_et_v6[1];
    end else if (s0_at == 2'd2) begin
      a_l3 = 18'd22;
      a_v4h = s0_win[8*22+:160];
      a_v6h = s0_win[8*22+:320];
      a_verdict = a_vd[14:10];
      a_pass4 = a_ok4[2];
      a_pass6 = a_ok6[2];
      a_et6 = s0_et_v6[2];
    end
  end

  assign a_tl6 = 18'd40 + 18'({a_v6h[39:32], a_v6h[47:40]});
  assign a_end = a_l3 + a_tl6;

  always_comb begin
    a_p = '0;
    a_done = !a_pass4 && !a_pass6;
    a_ff = {a_v4h[55:48], a_v4h[63:56]};
    a_p.vlan_valid = s0_vlan_valid;
    if (s0_vlan_valid) a_p.vlan = {byte_at(s0_win, 14), byte_at(s0_win, 15)};
    for (int k = 0; k < 6; k++) begin
      a_p.dst_mac[k] = byte_at(s0_win, k);
      a_p.src_mac[k] = byte_at(s0_win, 6 + k);
    end
    a_p.l2_len = a_l3[13:0];
    a_p.l3_offset = a_l3[13:0];
    a_p.ipv6 = !s0_l2_trunc && a_et6;
    if (a_pass6) begin
      // the extension-header walk's outcome: stage B1
      a_p.l3_len = a_tl6[15:0];
      for (int k = 0; k < 16; k++) begin
        a_p.src[k] = a_v6h[8*(8+k)+:8];
        a_p.dst[k] = a_v6h[8*(24+k)+:8];
      end
    end else if (a_pass4) begin
      if (a_ff[12:0] != 13'd0) a_p.frag = lbnic_pipe_pkg::FRAG_LATER;
      else if (a_ff[13]) a_p.frag = lbnic_pipe_pkg::FRAG_FIRST;
      if (a_p.frag != lbnic_pipe_pkg::FRAG_NONE)
        a_p.frag_id = {16'd0, a_v4h[39:32], a_v4h[47:40]};
      a_p.proto = a_v4h[79:72];
      a_p.l3_len = {a_v4h[23:16], a_v4h[31:24]};
      a_p.l4_offset = 14'(a_l3 + (18'(a_v4h[3:0]) << 2));
      a_p.src[10] = 8'hff;
      a_p.src[11] = 8'hff;
      a_p.dst[10] = 8'hff;
      a_p.dst[11] = 8'hff;
      for (int k = 0; k < 4; k++) begin
        a_p.src[12+k] = a_v4h[8*(12+k)+:8];
        a_p.dst[12+k] = a_v4h[8*(16+k)+:8];
      end
    end
    // status and reason lead parsed_t: the chosen verdict's bits (Yosys
    // 0.23 takes no cast to a package's enum)
    a_p = {a_verdict, a_p[$bits(a_p)-6:0]};
  end

  // ---------------------------------------------------------------- S1
  logic                    s1_valid;
  logic                    s1_done;
  lbnic_pipe_pkg::parsed_t s1_p;
  localparam int unsigned PB = $bits(s1_p);  // (Yosys 0.23: no $bits of a type)
  logic [8*W-1:0]          s1_win;
  logic [7:0]              s1_nh;   // the walk's start: next header, offset, end
  logic [17:0]             s1_off;
  logic [17:0]             s1_end;
  always_ff @(posedge clk) begin
    if (rst) s1_valid <= 1'b0;
    else if (adv) s1_valid <= s0_valid;
    if (adv) begin
      s1_done <= a_done;
      s1_p <= a_p;
      s1_win <= s0_win;
      s1_nh <= a_v6h[6*8+:8];
      s1_off <= a_l3 + 18'd40;
      s1_end <= a_end;
    end
  end

  // ------------------------------------------- X1..X8: the packet's walk
  logic [XS-1:0]           x_valid;
  logic [8*W-1:0]          x_win;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [17:0]             x_end;
  logic [17:0]             ox_l4;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [PB:0]             x_side;
  logic [1:0]              ox_result;
  logic [7:0]              ox_proto;
  lbnic_pipe_pkg::frag_e   ox_frag;
  logic [31:0]             ox_id;
  always_ff @(posedge clk) begin
    if (rst) x_valid <= '0;
    else if (adv) x_valid <= {x_valid[XS-2:0], s1_valid};
  end
  lbnic_parse_ext #(.W(W), .SIDE(PB + 1)) u_ext (
      .clk, .en(adv),
      .in_win(s1_win), .nh_in(s1_nh), .off_in(s1_off), .end_off(s1_end),
      .in_side({s1_done, s1_p}),
      .out_win(x_win), .out_end(x_end), .out_side(x_side),
      .result(ox_result), .proto(ox_proto), .l4_off(ox_l4), .frag(ox_frag), .frag_id(ox_id)
  );

  // ------------------------- stage B1: the walk's outcome, the L4 headers
  lbnic_pipe_pkg::parsed_t f_p;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [63:0] f_ip;       // the IP header's first 8 bytes (at 14, 18 or 22)
  /* verilator lint_on UNUSEDSIGNAL */
  logic        f_done;
  logic [17:0] f_l4;
  logic [17:0] f_q;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [159:0] f_l4h;     // 20 bytes at the L4 offset
  /* verilator lint_on UNUSEDSIGNAL */
  logic [319:0] f_qh;      // 40 bytes of the quoted IP header
  always_comb begin
    f_p = x_side[PB-1:0];
    f_done = x_side[PB];
    if (!f_done && f_p.ipv6) begin
      if (ox_result != EXT_OK) begin
        f_p.status = lbnic_pipe_pkg::PARSE_ERROR;
        f_p.reason = (ox_result == 2'd2) ? lbnic_pipe_pkg::REASON_TRUNCATED
                                         : lbnic_pipe_pkg::REASON_EXT_HEADER_CHAIN;
        f_done = 1'b1;
        // as parsed before the refusal (what the one-stage walk left)
        f_p.l3_len = 16'd0;
        f_p.src = '0;
        f_p.dst = '0;
      end else begin
        f_p.frag = ox_frag;
        f_p.frag_id = ox_id;
        f_p.proto = ox_proto;
        f_p.l4_offset = ox_l4[13:0];
      end
    end
    // TOS / traffic class and DF for a tunnel's outer header (REWRITE),
    // as the Rust parse_l3 sets them once the IP layer is accepted. Read
    // here, not in stage A: a byte at one of the IP header's three places,
    // beside the walk's outcome (not after it: an IPv6 packet the walk
    // refuses keeps them, a field of a refusal the contract leaves open).
    if (!x_side[PB]) begin
      f_p.tos = f_p.ipv6 ? {f_ip[3:0], f_ip[15:12]} : f_ip[15:8];
      f_p.df = f_p.ipv6 || f_ip[54];
    end
  end
  // The reads' offset from the registers (issue 13: not from f_p, whose
  // L4 offset waits for the walk's result): an IPv6 packet's L4 header is
  // where its walk ended, an IPv4 packet's where stage A put it. When the
  // walk refused the packet the bytes read are unused (stage B2 reads them
  // only for a packet not refused).
  /* verilator lint_off UNUSEDSIGNAL */
  lbnic_pipe_pkg::parsed_t x_p;  // (the side's fields the reads need)
  /* verilator lint_on UNUSEDSIGNAL */
  assign x_p = x_side[PB-1:0];
  always_comb begin
    f_ip = x_win[8*14+:64];
    if (x_p.l3_offset == 14'd18) f_ip = x_win[8*18+:64];
    else if (x_p.l3_offset == 14'd22) f_ip = x_win[8*22+:64];
  end
  assign f_l4 = x_p.ipv6 ? 18'(ox_l4[13:0]) : 18'(x_p.l4_offset);
  assign f_q = f_l4 + 18'd8;
  // Headers start at an offset = 2 (mod 4): 4-byte words from byte 2, read
  // by word muxes (not shifts: Yosys's `share` pass runs out of memory
  // looking for shifts to merge). The quote is 2 words on (f_q's word
  // index is f_l4's + 2, wrapping as f_q's bits do). The muxes are
  // generate trees of 2:1 muxes on the word index, each node its own
  // signal, over constant slices of the window, zero past its end (as
  // lbnic_parse_ext's read: Verilator's C++ of loops over a zero-extended
  // copy of the window was most of lbnic_parse_tb's build).
  for (genvar l = 0; l <= AW - 2; l++) begin : g_frd
    for (genvar j = 0; j < (NW >> l); j++) begin : g_n
      logic [479:0] v;     // {quote, L4 header}
      if (l != 0) begin : g_mux
        assign v = f_l4[l+1] ? g_frd[l-1].g_n[2*j+1].v : g_frd[l-1].g_n[2*j].v;
      end else begin : g_leaf
        localparam int unsigned K = (j + 2) % NW;  // the quote's word
        if (16 + 32 * K + 320 <= 8 * W) begin : g_q
          assign v[479:160] = x_win[16+32*K+:320];
        end else begin : g_q_end
          assign v[479:160] = 320'(x_win[8*W-1:16+32*K]);
        end
        if (16 + 32 * j + 160 <= 8 * W) begin : g_l4
          assign v[159:0] = x_win[16+32*j+:160];
        end else begin : g_l4_end
          assign v[159:0] = 160'(x_win[8*W-1:16+32*j]);
        end
      end
    end
  end
  assign {f_qh, f_l4h} = g_frd[AW-2].g_n[0].v;

  // --------------------------------------------------------------- S10
  logic                    s10_valid;
  logic                    s10_done;
  lbnic_pipe_pkg::parsed_t s10_p;
  logic [8*W-1:0]          s10_win;
  logic [159:0]            s10_l4h;
  logic [319:0]            s10_qh;
  logic [17:0]             s10_qoff;  // the quote's walk: offset, end
  logic [17:0]             s10_end;
  always_ff @(posedge clk) begin
    if (rst) s10_valid <= 1'b0;
    else if (adv) s10_valid <= x_valid[XS-1];
    if (adv) begin
      s10_done <= f_done;
      s10_p <= f_p;
      s10_win <= x_win;
      s10_l4h <= f_l4h;
      s10_qh <= f_qh;
      s10_qoff <= f_q + 18'd40;
      s10_end <= 18'(f_p.l3_offset) + 18'(f_p.l3_len);
    end
  end

  // ------------- beside Y1: stage B2's checks that need no quote walk
  // (issue 13: B2 decided them from the lengths, offsets and an IPv4
  // quote's L4 header read in its own clock, ~10 LUT levels; they are
  // computed here from S10's registers and ride along the quote's walk.)
  localparam int unsigned NPRE = 11 + 18 + 18 + 32;
  logic [NPRE-1:0] p_pre;
  logic [17:0] p_l4, p_seg, p_q, p_body, p_qhl, p_il4v4, p_doff, p_ulen;
  logic [31:0] p_ports4;   // an IPv4 quote's ports (its L4 header at q + IHL)
  logic        p_seg20, p_seg8, p_w20, p_w8, p_doffbad, p_ulenbad, p_bodyshort, p_qw, p_qbad;
  logic        p_v4end, p_v4w;
  assign p_l4 = 18'(s10_p.l4_offset);
  assign p_seg = s10_end - p_l4;
  assign p_q = p_l4 + 18'd8;
  assign p_body = s10_end - p_q;
  assign p_qhl = 18'(s10_qh[3:0]) << 2;
  assign p_il4v4 = p_q + p_qhl;
  assign p_doff = 18'(s10_l4h[103:100]) << 2;
  assign p_ulen = 18'({s10_l4h[39:32], s10_l4h[47:40]});
  assign p_seg20 = p_seg < 18'd20;
  assign p_seg8 = p_seg < 18'd8;
  assign p_w20 = p_l4 + 18'd20 > WIN;
  assign p_w8 = p_l4 + 18'd8 > WIN;
  assign p_doffbad = p_doff < 18'd20 || p_doff > p_seg;
  assign p_ulenbad = p_ulen < 18'd8
                     || (s10_p.frag == lbnic_pipe_pkg::FRAG_NONE && p_ulen > p_seg);
  assign p_bodyshort = p_body < (s10_p.ipv6 ? 18'd40 : 18'd20);
  assign p_qw = p_q + (s10_p.ipv6 ? 18'd40 : 18'd20) > WIN;
  assign p_qbad = s10_p.ipv6 ? (s10_qh[7:4] != 4'd6)
                             : (s10_qh[7:4] != 4'd4 || p_qhl < 18'd20 || p_qhl > p_body);
  assign p_v4end = p_il4v4 + 18'd4 > s10_end;
  assign p_v4w = p_il4v4 + 18'd4 > WIN;
  lbnic_win_word #(.W(W), .RW(32)) u_prd (  // a word mux, as in B1
      .win(s10_win), .index(p_il4v4[AW-1:2]), .word(p_ports4)
  );
  assign p_pre = {p_seg20, p_seg8, p_w20, p_w8, p_doffbad, p_ulenbad, p_bodyshort, p_qw, p_qbad,
                  p_v4end, p_v4w, p_il4v4, p_q, p_ports4};

  // --------------------------------------------- Y1..Y8: the quote's walk
  logic [XS-1:0]           y_valid;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [8*W-1:0]          y_win;   // bytes 0-1 are no L4 header's
  /* verilator lint_on UNUSEDSIGNAL */
  logic [17:0]             b_end;
  logic [PB+480+NPRE:0]    y_side;
  logic                    s1b_done;
  lbnic_pipe_pkg::parsed_t s1_b;   // stage B2's parsed_t in
  always_ff @(posedge clk) begin
    if (rst) y_valid <= '0;
    else if (adv) y_valid <= {y_valid[XS-2:0], s10_valid};
  end

  // ------------------------------------------------ stage B (L4, the quote)
  lbnic_pipe_pkg::parsed_t b_p;
  logic [NPRE-1:0] b_pre;  // the checks made beside Y1
  logic        b_seg20, b_seg8, b_w20, b_w8, b_doffbad, b_ulenbad, b_bodyshort, b_qw, b_qbad;
  logic        b_v4end, b_v4w, b_il4end, b_il4w;
  logic [17:0] b_il4v4;
  logic [31:0] b_ports4;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [159:0] b_l4h;     // 20 bytes at the L4 offset
  /* verilator lint_on UNUSEDSIGNAL */
  logic [17:0] b_q;        // the quote's offset (l4 + 8)
  logic [319:0] b_qh;      // 40 bytes of the quoted IP header
  logic [17:0] b_il4;      // absolute offset of the quoted L4 header
  logic [7:0]  b_iproto;
  logic        b_later;
  logic [31:0] b_ports;
  logic [7:0]  b_ty;
  logic        b_icmp;

  logic [1:0]  ix_result;
  logic [7:0]  ix_proto;
  logic [17:0] ix_l4;
  lbnic_pipe_pkg::frag_e ix_frag;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [31:0] ix_id;
  /* verilator lint_on UNUSEDSIGNAL */

  lbnic_parse_ext #(.W(W), .SIDE(PB + 481 + NPRE)) u_iext (
      .clk, .en(adv),
      .in_win(s10_win), .nh_in(s10_qh[6*8+:8]), .off_in(s10_qoff), .end_off(s10_end),
      .in_side({s10_done, s10_p, s10_l4h, s10_qh, p_pre}),
      .out_win(y_win), .out_end(b_end), .out_side(y_side),
      .result(ix_result), .proto(ix_proto), .l4_off(ix_l4), .frag(ix_frag), .frag_id(ix_id)
  );
  assign {s1b_done, s1_b, b_l4h, b_qh, b_pre} = y_side;
  assign {b_seg20, b_seg8, b_w20, b_w8, b_doffbad, b_ulenbad, b_bodyshort, b_qw, b_qbad,
          b_v4end, b_v4w, b_il4v4, b_q, b_ports4} = b_pre;

  // Stage B2. The quoted L4 header's ports: a word mux, as above.
  logic [31:0] b_ports6;
  lbnic_win_word #(.W(W), .RW(32)) u_brd (
      .win(y_win), .index(ix_l4[AW-1:2]), .word(b_ports6)
  );
  assign b_ports = s1_b.ipv6 ? b_ports6 : b_ports4;
  assign b_il4 = s1_b.ipv6 ? ix_l4 : b_il4v4;
  assign b_il4end = s1_b.ipv6 ? (ix_l4 + 18'd4 > b_end) : b_v4end;
  assign b_il4w = s1_b.ipv6 ? (ix_l4 + 18'd4 > WIN) : b_v4w;
  assign b_iproto = s1_b.ipv6 ? ix_proto : b_qh[79:72];
  assign b_later = s1_b.ipv6 ? (ix_frag == lbnic_pipe_pkg::FRAG_LATER)
                             : ({b_qh[52:48], b_qh[63:56]} != 13'd0);

  always_comb begin
    b_p = s1_b;
    b_ty = b_l4h[7:0];
    b_icmp = (s1_b.proto == 8'd1 && !s1_b.ipv6) || (s1_b.proto == 8'd58 && s1_b.ipv6);
    if (s1b_done) begin
      // refused in stage A
    end else if (s1_b.frag == lbnic_pipe_pkg::FRAG_LATER) begin
      if (s1_b.proto != 8'd6 && s1_b.proto != 8'd17)
        b_p.status = lbnic_pipe_pkg::PARSE_NOT_LB;
    end else if (s1_b.proto == 8'd6) begin
      if (b_seg20) begin
        b_p.status = lbnic_pipe_pkg::PARSE_ERROR;
        b_p.reason = lbnic_pipe_pkg::REASON_TRUNCATED;
      end else if (b_w20) begin
        b_p.status = lbnic_pipe_pkg::PARSE_ERROR;
        b_p.reason = lbnic_pipe_pkg::REASON_EXT_HEADER_CHAIN;
      end else if (b_doffbad) begin
        b_p.status = lbnic_pipe_pkg::PARSE_ERROR;
        b_p.reason = lbnic_pipe_pkg::REASON_BAD_TCP_OFFSET;
      end else begin
        b_p.sport = {b_l4h[7:0], b_l4h[15:8]};
        b_p.dport = {b_l4h[23:16], b_l4h[31:24]};
        b_p.tcp_flags = b_l4h[111:104];
      end
    end else if (s1_b.proto == 8'd17) begin
      if (b_seg8) begin
        b_p.status = lbnic_pipe_pkg::PARSE_ERROR;
        b_p.reason = lbnic_pipe_pkg::REASON_TRUNCATED;
      end else if (b_w8) begin
        b_p.status = lbnic_pipe_pkg::PARSE_ERROR;
        b_p.reason = lbnic_pipe_pkg::REASON_EXT_HEADER_CHAIN;
      end else if (b_ulenbad) begin
        b_p.status = lbnic_pipe_pkg::PARSE_ERROR;
        b_p.reason = lbnic_pipe_pkg::REASON_BAD_UDP_LENGTH;
      end else begin
        b_p.sport = {b_l4h[7:0], b_l4h[15:8]};
        b_p.dport = {b_l4h[23:16], b_l4h[31:24]};
      end
    end else if (b_icmp) begin
      if (b_seg8) begin
        b_p.status = lbnic_pipe_pkg::PARSE_ERROR;
        b_p.reason = lbnic_pipe_pkg::REASON_TRUNCATED;
      end else if (b_w8) begin
        b_p.status = lbnic_pipe_pkg::PARSE_ERROR;
        b_p.reason = lbnic_pipe_pkg::REASON_EXT_HEADER_CHAIN;
      end else if (s1_b.ipv6 ? !(b_ty >= 8'd1 && b_ty <= 8'd4)
                             : !(b_ty == 8'd3 || b_ty == 8'd11 || b_ty == 8'd12)) begin
        b_p.status = lbnic_pipe_pkg::PARSE_NOT_LB;
      end else if (b_bodyshort) begin
        b_p.status = lbnic_pipe_pkg::PARSE_ERROR;
        b_p.reason = lbnic_pipe_pkg::REASON_BAD_INNER;
      end else if (b_qw) begin
        b_p.status = lbnic_pipe_pkg::PARSE_ERROR;
        b_p.reason = lbnic_pipe_pkg::REASON_EXT_HEADER_CHAIN;
      end else if (b_qbad) begin
        b_p.status = lbnic_pipe_pkg::PARSE_ERROR;
        b_p.reason = lbnic_pipe_pkg::REASON_BAD_INNER;
      end else if (s1_b.ipv6 && ix_result != EXT_OK) begin
        b_p.status = lbnic_pipe_pkg::PARSE_ERROR;
        b_p.reason = (ix_result == EXT_WINDOW) ? lbnic_pipe_pkg::REASON_EXT_HEADER_CHAIN
                                               : lbnic_pipe_pkg::REASON_BAD_INNER;
      end else if ((b_iproto != 8'd6 && b_iproto != 8'd17) || b_later) begin
        b_p.status = lbnic_pipe_pkg::PARSE_NOT_LB;
      end else if (b_il4end) begin
        b_p.status = lbnic_pipe_pkg::PARSE_ERROR;
        b_p.reason = lbnic_pipe_pkg::REASON_BAD_INNER;
      end else if (b_il4w) begin
        b_p.status = lbnic_pipe_pkg::PARSE_ERROR;
        b_p.reason = lbnic_pipe_pkg::REASON_EXT_HEADER_CHAIN;
      end else begin
        b_p.icmp_error_valid = 1'b1;
        b_p.icmp_error.proto = b_iproto;
        b_p.icmp_error.sport = {b_ports[7:0], b_ports[15:8]};
        b_p.icmp_error.dport = {b_ports[23:16], b_ports[31:24]};
        b_p.icmp_error.l4_offset = 14'(b_il4 - b_q);
        if (s1_b.ipv6) begin
          for (int k = 0; k < 16; k++) begin
            b_p.icmp_error.src[k] = b_qh[8*(8+k)+:8];
            b_p.icmp_error.dst[k] = b_qh[8*(24+k)+:8];
          end
        end else begin
          b_p.icmp_error.src[10] = 8'hff;
          b_p.icmp_error.src[11] = 8'hff;
          b_p.icmp_error.dst[10] = 8'hff;
          b_p.icmp_error.dst[11] = 8'hff;
          for (int k = 0; k < 4; k++) begin
            b_p.icmp_error.src[12+k] = b_qh[8*(12+k)+:8];
            b_p.icmp_error.dst[12+k] = b_qh[8*(16+k)+:8];
          end
        end
      end
    end else begin
      b_p.status = lbnic_pipe_pkg::PARSE_NOT_LB;
    end
  end

  // ---------------------------------------------------------- S2 = output
  always_ff @(posedge clk) begin
    if (rst) out_valid <= 1'b0;
    else if (adv) out_valid <= y_valid[XS-1];
    if (adv) out_parsed <= b_p;
  end
endmodule
