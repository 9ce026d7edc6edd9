// The IP packet's one's-complement sum, taken as RX writes the frame (spec
// §12.3, decision 3): what a GUE encapsulation's UDP checksum needs, so the
// egress does not read the frame once more for it (lbnic_hdr_sums' pre-pass
// stays for what this cannot know: a NAT VIP's ICMP error quote).
//
// The first beat locates the IP packet as the parser will, for the common
// case: up to two VLAN tags (0x8100 / 0x88a8) give lo = 14 / 18 / 22; an
// IPv4 header's total length or an IPv6 header's 40 + payload length give
// hi = lo + that. Bytes at frame offsets [lo, hi) that RX takes are summed
// (RFC 1071, not complemented, even offsets are high bytes), exactly as
// lbnic_hdr_sums sums them. The egress uses the sum only when (lo, hi)
// equal the parser's (l3_offset, l3_offset + l3_len); a frame this first
// look reads otherwise (a jumbogram's zero payload length, another
// ethertype) keeps the pre-pass. `ok` is low when the first beat cannot
// hold the headers it reads (DATA_BYTES < 32) or the ethertype is not IP.
//
// Pipelined for the clock (spec §13 "Synthesis": as one combinational
// step it was 23 LUT levels): the beat is registered (S1); the header look
// (first beat) or the kept lo / hi (S2); lbnic_csum_pipe's four stages
// (S3-S6: bytes masked, two halves of the tree, the frame's accumulator);
// its fold, registered (S7). `res_valid` is high for
// one clock 7 clocks after a frame's last beat was taken, with that frame's `sum`, `lo`, `hi`, `ok`; one
// result per frame, in order; no back-pressure (it follows s_tvalid &&
// s_tready). Nothing waits for it: the egress reads a frame's sum only when
// its decision comes, FRONT's latency and more later (lbnic_pkt_buf keeps it
// with the frame).
module lbnic_rx_sum #(
    parameter int unsigned DATA_BYTES = lbnic_pkg::TARGET_DATAPATH_BYTES,
    localparam int unsigned LB = $clog2(DATA_BYTES)
) (
    input  logic                    clk,
    input  logic                    rst,
    input  logic                    s_tvalid,
    input  logic                    s_tready,
    input  logic [8*DATA_BYTES-1:0] s_tdata,
    input  logic [DATA_BYTES-1:0]   s_tkeep,
    input  logic                    s_tlast,
    output logic                    res_valid,
    output logic [15:0]             sum,
    output logic [15:0]             lo,
    output logic [15:0]             hi,
    output logic                    ok
);
  localparam int unsigned IB = 16 - LB;
  localparam bit WIDE = DATA_BYTES >= 32;
  localparam int unsigned BW = 8 * DATA_BYTES;

  function automatic logic [15:0] be16(input logic [255:0] d, input logic [4:0] at);
    be16 = {d[8*at+:8], d[8*(at+1)+:8]};
  endfunction
  function automatic logic is_tag(input logic [15:0] et);
    is_tag = et == 16'h8100 || et == 16'h88a8;
  endfunction

  // ---------------------------------------------------------------- S1
  logic          mid;       // a frame's beats after its first
  logic [IB-1:0] beat;
  logic          v1, f1, l1;
  logic [IB-1:0] b1;
  logic [BW-1:0] d1;
  logic [DATA_BYTES-1:0] k1;
  always_ff @(posedge clk) begin
    if (rst) begin
      mid <= 1'b0;
      beat <= '0;
      v1 <= 1'b0;
    end else begin
      v1 <= s_tvalid && s_tready;
      if (s_tvalid && s_tready) begin
        mid <= !s_tlast;
        beat <= s_tlast ? '0 : beat + 1'b1;
      end
    end
    if (s_tvalid && s_tready) begin
      f1 <= !mid;
      l1 <= s_tlast;
      b1 <= beat;
      d1 <= s_tdata;
      k1 <= s_tkeep;
    end
  end

  // ---------------------------------------------------------------- S2
  // the first beat's look at the headers (its first 32 bytes)
  logic [255:0] b32;
  logic [15:0]  f_lo, f_hi, f_et;
  logic         f_ok;
  assign b32 = 256'(d1);
  always_comb begin
    f_lo = 16'd14;
    f_et = be16(b32, 5'd12);
    if (is_tag(f_et)) begin
      f_lo = 16'd18;
      f_et = be16(b32, 5'd16);
      if (is_tag(f_et)) begin
        f_lo = 16'd22;
        f_et = be16(b32, 5'd20);
      end
    end
    f_ok = WIDE && (f_et == 16'h0800 || f_et == 16'h86dd);
    f_hi = '0;
    if (f_et == 16'h0800) f_hi = f_lo + be16(b32, 5'(f_lo + 16'd2));
    else if (f_et == 16'h86dd) f_hi = f_lo + 16'd40 + be16(b32, 5'(f_lo + 16'd4));
  end

  logic          v2, f2, l2, ok2;
  logic [IB-1:0] b2;
  logic [BW-1:0] d2;
  logic [DATA_BYTES-1:0] k2;
  logic [15:0]   lo2, hi2;
  always_ff @(posedge clk) begin
    v2 <= !rst && v1;
    if (v1) begin
      f2 <= f1;
      l2 <= l1;
      b2 <= b1;
      d2 <= d1;
      k2 <= k1;
      if (f1) begin
        lo2 <= f_lo;
        hi2 <= f_hi;
        ok2 <= f_ok;
      end
    end
  end

  // ---------------------------------------------------------------- S3-S6
  // the frame's sum (lbnic_csum_pipe), its range and flag beside it
  logic        pv, plast, pok;
  logic [15:0] psum, plo, phi;
  lbnic_csum_pipe #(.DATA_BYTES(DATA_BYTES), .USER_W(33)) tree (
      .clk, .rst, .in_valid(v2), .in_first(f2), .in_last(l2), .in_user({ok2, lo2, hi2}),
      .beat(b2), .data(d2), .keep(k2), .lo(lo2), .hi(hi2),
      .out_valid(pv), .out_last(plast), .out_user({pok, plo, phi}), .out_sum(psum)
  );

  // ---------------------------------------------------------------- S7
  always_ff @(posedge clk) begin
    res_valid <= !rst && pv && plast;
    if (pv && plast) begin
      sum <= psum;
      lo <= plo;
      hi <= phi;
      ok <= pok;
    end
  end
endmodule
