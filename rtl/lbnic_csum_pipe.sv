// One beat's share of an RFC 1071 sum, pipelined for the clock: the bytes
// of beat `beat` (frame offset beat * DATA_BYTES + k for byte k) that
// `keep` marks and that lie in [lo, hi), even offsets high, added as a
// tree of 16-bit words. What lbnic_rx_sum (as RX writes a frame) and
// lbnic_hdr_sums (as the egress reads it) accumulate.
//
// Three stages (spec §13 "Synthesis"; as one clock with the fold it was
// 15-23 LUT levels): the bytes masked (S1), the first half of the tree's
// levels (S2), the rest (S3). `out_sum` (not folded: the caller adds it
// into a wide accumulator and folds once, which RFC 1071 §2 shows gives
// the same 16 bits as folding every beat) is valid with `out_valid`,
// LATENCY clocks after `in_valid`; one beat a clock, no back-pressure.
module lbnic_csum_pipe #(
    parameter int unsigned DATA_BYTES = lbnic_pkg::TARGET_DATAPATH_BYTES,
    localparam int unsigned LB = $clog2(DATA_BYTES),
    localparam int unsigned IB = 16 - LB,
    localparam int unsigned SW = 24
) (
    input  logic                    clk,
    input  logic                    rst,
    input  logic                    in_valid,
    input  logic [IB-1:0]           beat,
    input  logic [8*DATA_BYTES-1:0] data,
    input  logic [DATA_BYTES-1:0]   keep,
    input  logic [15:0]             lo,
    input  logic [15:0]             hi,
    output logic                    out_valid,
    output logic [SW-1:0]           out_sum
);
  localparam int unsigned NW = DATA_BYTES / 2;   // 16-bit words a beat
  localparam int unsigned LV = $clog2(NW);       // levels of the tree
  localparam int unsigned LA = (LV + 1) / 2;     // levels in S2
  localparam int unsigned NP = NW >> LA;         // partial sums S2 leaves
  localparam int unsigned PA = 2 * NW - ((2 * NW) >> LA);  // S2's first partial

  // ---------------------------------------------------------------- S1
  logic [16*NW-1:0] w, w1;
  logic             v1;
  for (genvar j = 0; j < NW; j++) begin : g_word
    logic [15:0] ph, pl;
    logic        mh, ml;
    assign ph = {beat, LB'(2 * j)};
    assign pl = {beat, LB'(2 * j + 1)};
    assign mh = keep[2 * j] && ph >= lo && ph < hi;
    assign ml = keep[2 * j + 1] && pl >= lo && pl < hi;
    assign w[16 * j +: 16] = {mh ? data[8 * (2 * j) +: 8] : 8'd0, ml ? data[8 * (2 * j + 1) +: 8] : 8'd0};
  end
  always_ff @(posedge clk) begin
    v1 <= !rst && in_valid;
    if (in_valid) w1 <= w;
  end

  // ---------------------------------------------------------------- S2
  // heap order: level l's nodes start at 2 NW - (2 NW >> l)
  logic [SW*(PA+NP)-1:0] ta /* verilator split_var */;
  for (genvar j = 0; j < NW; j++) begin : g_ta_leaf
    assign ta[SW * j +: SW] = SW'(w1[16 * j +: 16]);
  end
  for (genvar l = 0; l < LA; l++) begin : g_ta
    localparam int unsigned A = 2 * NW - ((2 * NW) >> l);
    localparam int unsigned B = 2 * NW - ((2 * NW) >> (l + 1));
    for (genvar i = 0; i < (NW >> (l + 1)); i++) begin : g_node
      assign ta[SW * (B + i) +: SW] = ta[SW * (A + 2 * i) +: SW] + ta[SW * (A + 2 * i + 1) +: SW];
    end
  end
  logic [SW*NP-1:0] p2;
  logic             v2;
  always_ff @(posedge clk) begin
    v2 <= !rst && v1;
    if (v1) p2 <= ta[SW * PA +: SW * NP];
  end

  // ---------------------------------------------------------------- S3
  logic [SW*(2*NP-1)-1:0] tb /* verilator split_var */;
  for (genvar j = 0; j < NP; j++) begin : g_tb_leaf
    assign tb[SW * j +: SW] = p2[SW * j +: SW];
  end
  for (genvar l = 0; l < LV - LA; l++) begin : g_tb
    localparam int unsigned A = 2 * NP - ((2 * NP) >> l);
    localparam int unsigned B = 2 * NP - ((2 * NP) >> (l + 1));
    for (genvar i = 0; i < (NP >> (l + 1)); i++) begin : g_node
      assign tb[SW * (B + i) +: SW] = tb[SW * (A + 2 * i) +: SW] + tb[SW * (A + 2 * i + 1) +: SW];
    end
  end
  always_ff @(posedge clk) begin
    out_valid <= !rst && v2;
    if (v2) out_sum <= tb[SW * (2 * NP - 2) +: SW];
  end
endmodule
