// A frame's running RFC 1071 sum over the bytes of its beats that `keep`
// marks and that lie in [lo, hi) (frame offset beat * DATA_BYTES + k for
// byte k; even offsets high; not complemented), pipelined for the clock.
// What lbnic_rx_sum (as RX writes a frame), lbnic_hdr_sums (as the egress
// reads it once more) and lbnic_icmp_too_big (its quote, in pass 1) take.
//
// Four stages (spec §13 "Synthesis": as one clock with the fold it was
// 15-23 LUT levels): the bytes masked (S1); the first half of the tree's
// levels (S2); the rest (S3); the beat's share added into a 32-bit
// accumulator, cleared by the frame's first beat (S4). The accumulator is
// folded only at the output (RFC 1071 §2: the same 16 bits as folding
// every beat; a frame's words add up to under 2^31 for any [lo, hi) under
// 2^16 + 2^14 bytes). `out_valid` is high LATENCY clocks after each
// `in_valid`, with that beat's `out_last` and `out_user` (carried beside,
// for the caller's per-frame data) and `out_sum`, the sum through that
// beat; `out_sum` then holds until the next beat comes out. One beat a
// clock, no back-pressure.
module lbnic_csum_pipe #(
    parameter int unsigned DATA_BYTES = lbnic_pkg::TARGET_DATAPATH_BYTES,
    parameter int unsigned USER_W = 1,
    localparam int unsigned LB = $clog2(DATA_BYTES),
    localparam int unsigned IB = 16 - LB
) (
    input  logic                    clk,
    input  logic                    rst,
    input  logic                    in_valid,
    input  logic                    in_first,   // clears the sum
    input  logic                    in_last,
    input  logic [USER_W-1:0]       in_user,
    input  logic [IB-1:0]           beat,
    input  logic [8*DATA_BYTES-1:0] data,
    input  logic [DATA_BYTES-1:0]   keep,
    input  logic [15:0]             lo,
    input  logic [15:0]             hi,
    output logic                    out_valid,
    output logic                    out_last,
    output logic [USER_W-1:0]       out_user,
    output logic [15:0]             out_sum
);
  localparam int unsigned SW = 24;               // a partial sum
  localparam int unsigned NW = DATA_BYTES / 2;   // 16-bit words a beat
  localparam int unsigned LV = $clog2(NW);       // levels of the tree
  localparam int unsigned LA = (LV + 1) / 2;     // levels added in S2
  // heap order: level l's NW >> l nodes start at 2 NW - (2 NW >> l)
  localparam int unsigned ROOT = 2 * NW - 2;

  // the flags and the user data, beside the stages
  logic [2:0]  v, f, l;
  logic [USER_W-1:0] u1, u2, u3;
  always_ff @(posedge clk) begin
    v <= rst ? 3'd0 : {v[1:0], in_valid};
    f <= {f[1:0], in_first};
    l <= {l[1:0], in_last};
    u1 <= in_user;
    u2 <= u1;
    u3 <= u2;
  end

  // ---------------------------------------------------------------- S1
  logic [16*NW-1:0] w, w1;
  for (genvar j = 0; j < NW; j++) begin : g_word
    logic [15:0] ph, pl;
    logic        mh, ml;
    assign ph = {beat, LB'(2 * j)};
    assign pl = {beat, LB'(2 * j + 1)};
    assign mh = keep[2 * j] && ph >= lo && ph < hi;
    assign ml = keep[2 * j + 1] && pl >= lo && pl < hi;
    assign w[16 * j +: 16] = {mh ? data[8 * (2 * j) +: 8] : 8'd0, ml ? data[8 * (2 * j + 1) +: 8] : 8'd0};
  end
  always_ff @(posedge clk) if (in_valid) w1 <= w;

  // ---------------------------------------------------------------- S2, S3
  // one tree; level LA is registered (S2's end), and level LA + 1 adds the
  // registered copy
  localparam int unsigned PA = 2 * NW - ((2 * NW) >> LA);  // level LA's first node
  localparam int unsigned NP = NW >> LA;
  logic [SW*(2*NW-1)-1:0] t /* verilator split_var */;
  logic [SW*NP-1:0] p2;
  for (genvar j = 0; j < NW; j++) begin : g_leaf
    assign t[SW * j +: SW] = SW'(w1[16 * j +: 16]);
  end
  for (genvar lv = 0; lv < LV; lv++) begin : g_level
    localparam int unsigned A = 2 * NW - ((2 * NW) >> lv);
    localparam int unsigned B = 2 * NW - ((2 * NW) >> (lv + 1));
    for (genvar i = 0; i < (NW >> (lv + 1)); i++) begin : g_node
      if (lv == LA) begin : g_reg
        assign t[SW * (B + i) +: SW] = p2[SW * (2 * i) +: SW] + p2[SW * (2 * i + 1) +: SW];
      end else begin : g_comb
        assign t[SW * (B + i) +: SW] = t[SW * (A + 2 * i) +: SW] + t[SW * (A + 2 * i + 1) +: SW];
      end
    end
  end
  logic [SW-1:0] s3;
  always_ff @(posedge clk) begin
    if (v[0]) p2 <= t[SW * PA +: SW * NP];
    if (v[1]) s3 <= (LA == LV) ? p2[SW-1:0] : t[SW * ROOT +: SW];
  end

  // ---------------------------------------------------------------- S4
  logic [31:0] acc;
  always_ff @(posedge clk) begin
    out_valid <= !rst && v[2];
    if (v[2]) begin
      acc <= (f[2] ? 32'd0 : acc) + 32'(s3);
      out_last <= l[2];
      out_user <= u3;
    end
  end
  logic [16:0] fold1;
  assign fold1 = {1'b0, acc[15:0]} + {1'b0, acc[31:16]};
  assign out_sum = fold1[15:0] + {15'd0, fold1[16]};
endmodule
