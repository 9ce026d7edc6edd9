// REWRITE's per-packet sums (lbnic_rewrite's d_l3_sum, d_quote_ip_csum,
// d_quote_l4_csum), computed from one pass over the frame as the packet
// buffer streams it (the egress reads a frame once more before REWRITE
// when the packet needs them: a GUE encapsulation or the NAT of an ICMP
// error). Exact for any frame length: the quoted checksums are read where
// they are, also past the 256-byte header window (spec §12.2).
//
//   l3_sum       fold(sum(frame[l3_offset .. l3_offset + l3_len]))
//                (RFC 1071, not complemented; l3_offset is even: 14/18/22)
//   quote_ip     ICMP error: the 16 bits at il3 + 10 (il3 = l4_offset + 8,
//                the quoted IP header), IPv4 only; 0 when they end past
//                l3_offset + l3_len
//   quote_l4     the quoted TCP (il3 + inner.l4_offset + 16) or UDP (+ 6)
//                checksum; 0 when it ends past l3_offset + l3_len or for
//                another protocol
// (model-tests/examples/rtl_vectors_rewrite.rs writes the same values from
// the Rust model.)
//
// `start` (one clock, with the packet's parsed_t) clears the sums; then the
// frame's beats (s_tvalid with s_tlast on its last, every beat but the last
// full: DATA_BYTES bytes); `done` rises 4 clocks after the last beat was
// taken (lbnic_csum_pipe's four stages: spec §13 "Synthesis"), the sums
// held until the next start.
module lbnic_hdr_sums #(
    parameter int unsigned DATA_BYTES = lbnic_pkg::TARGET_DATAPATH_BYTES,
    localparam int unsigned LB = $clog2(DATA_BYTES)
) (
    input  logic clk,
    input  logic rst,
    input  logic                    start,
    /* verilator lint_off UNUSEDSIGNAL */
    input  lbnic_pipe_pkg::parsed_t parsed,  // offsets, lengths, the quote's protocol
    /* verilator lint_on UNUSEDSIGNAL */
    input  logic                    s_tvalid,
    input  logic [8*DATA_BYTES-1:0] s_tdata,
    input  logic                    s_tlast,
    output logic                    done,
    output logic [15:0]             l3_sum,
    output logic [15:0]             quote_ip,
    output logic [15:0]             quote_l4
);
  localparam int unsigned IB = 16 - LB;

  // the packet's offsets, latched with start
  logic [15:0] lo, hi;         // [lo, hi): the IP packet
  logic [15:0] qip_at, ql4_at;
  logic        qip_en, ql4_en;
  logic [IB-1:0] beat;
  logic [15:0] qip_at1, ql4_at1;
  assign qip_at1 = qip_at + 16'd1;
  assign ql4_at1 = ql4_at + 16'd1;

  logic [15:0] c_il3, c_ql4;
  logic [15:0] c_hi;
  always_comb begin
    c_hi = 16'(parsed.l3_offset) + parsed.l3_len;
    c_il3 = 16'(parsed.l4_offset) + 16'd8;
    c_ql4 = c_il3 + 16'(parsed.icmp_error.l4_offset)
          + ((parsed.icmp_error.proto == 8'd6) ? 16'd16 : 16'd6);
  end

  // the IP packet's sum, LATENCY (4) clocks after each beat (lbnic_csum_pipe);
  // `done` from the last beat's sum on, until the next start
  logic        pv, plast, done_q;
  /* verilator lint_off UNUSEDSIGNAL */
  logic        nouser;     // no per-beat data rides along
  /* verilator lint_on UNUSEDSIGNAL */
  lbnic_csum_pipe #(.DATA_BYTES(DATA_BYTES)) add (
      .clk, .rst, .in_valid(s_tvalid && !start), .in_first(beat == '0), .in_last(s_tlast),
      .in_user(1'b0), .beat, .data(s_tdata), .keep('1), .lo, .hi,
      .out_valid(pv), .out_last(plast), .out_user(nouser), .out_sum(l3_sum)
  );
  assign done = done_q || (pv && plast);

  function automatic logic [7:0] lane(input logic [8*DATA_BYTES-1:0] d, input logic [LB-1:0] i);
    lane = d[8*i+:8];
  endfunction

  always_ff @(posedge clk) begin
    if (rst) begin
      done_q <= 1'b0;
    end else if (start) begin
      done_q <= 1'b0;
      beat <= '0;
      lo <= 16'(parsed.l3_offset);
      hi <= c_hi;
      qip_at <= c_il3 + 16'd10;
      ql4_at <= c_ql4;
      qip_en <= parsed.icmp_error_valid && !parsed.ipv6 && (32'(c_il3) + 12 <= 32'(c_hi));
      ql4_en <= parsed.icmp_error_valid && (parsed.icmp_error.proto == 8'd6 || parsed.icmp_error.proto == 8'd17)
                && (32'(c_ql4) + 2 <= 32'(c_hi));
      quote_ip <= '0;
      quote_l4 <= '0;
    end else if (pv && plast) begin
      done_q <= 1'b1;
    end
    if (!rst && !start && s_tvalid) begin
      beat <= beat + 1'b1;
      if (qip_en && qip_at[15:LB] == beat) quote_ip[15:8] <= lane(s_tdata, qip_at[LB-1:0]);
      if (qip_en && qip_at1[15:LB] == beat) quote_ip[7:0] <= lane(s_tdata, qip_at1[LB-1:0]);
      if (ql4_en && ql4_at[15:LB] == beat) quote_l4[15:8] <= lane(s_tdata, ql4_at[LB-1:0]);
      if (ql4_en && ql4_at1[15:LB] == beat) quote_l4[7:0] <= lane(s_tdata, ql4_at1[LB-1:0]);
    end
  end
endmodule
