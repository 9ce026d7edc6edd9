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
// Combinational on the last beat: `sum`, `lo`, `hi`, `ok` are valid in the
// cycle s_tvalid && s_tready && s_tlast (the packet buffer samples them
// with the frame's descriptor).
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
    output logic [15:0]             sum,
    output logic [15:0]             lo,
    output logic [15:0]             hi,
    output logic                    ok
);
  localparam int unsigned IB = 16 - LB;
  localparam bit WIDE = DATA_BYTES >= 32;

  logic          mid;       // a frame's beats after its first
  logic [IB-1:0] beat;
  logic [15:0]   acc, lo_q, hi_q;
  logic          ok_q;

  // the first 32 bytes of the beat (zero past a narrower datapath)
  logic [255:0] b32;
  assign b32 = 256'(s_tdata);
  function automatic logic [15:0] be16(input logic [255:0] d, input logic [4:0] at);
    be16 = {d[8*at+:8], d[8*(at+1)+:8]};
  endfunction
  function automatic logic is_tag(input logic [15:0] et);
    is_tag = et == 16'h8100 || et == 16'h88a8;
  endfunction

  // the first beat's look at the headers
  logic [15:0] f_lo, f_hi, f_et;
  logic        f_ok;
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

  // this beat's bytes in [lo, hi)
  logic [15:0] c_lo, c_hi, c_acc, nacc;
  logic [IB-1:0] c_beat;
  assign c_lo = mid ? lo_q : f_lo;
  assign c_hi = mid ? hi_q : f_hi;
  assign c_beat = mid ? beat : '0;
  assign c_acc = mid ? acc : '0;
  lbnic_csum_beat #(.DATA_BYTES(DATA_BYTES)) add (
      .beat(c_beat), .data(s_tdata), .keep(s_tkeep), .lo(c_lo), .hi(c_hi), .acc(c_acc), .sum(nacc)
  );

  always_ff @(posedge clk) begin
    if (rst) begin
      mid <= 1'b0;
    end else if (s_tvalid && s_tready) begin
      mid <= !s_tlast;
      beat <= c_beat + 1'b1;
      acc <= nacc;
      if (!mid) begin
        lo_q <= f_lo;
        hi_q <= f_hi;
        ok_q <= f_ok;
      end
    end
  end

  assign sum = nacc;
  assign lo = c_lo;
  assign hi = c_hi;
  assign ok = mid ? ok_q : f_ok;
endmodule
