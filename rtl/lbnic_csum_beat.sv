// One beat's bytes added into a running RFC 1071 sum (not complemented):
// the bytes of beat `beat` (frame offset beat * DATA_BYTES + k for byte k)
// that `keep` marks and that lie in [lo, hi), even offsets high; the
// result folded to 16 bits. Combinational; lbnic_icmp_too_big's quote sum
// (RX's sum and the egress pre-pass use lbnic_csum_pipe, the same sum in
// three clocks; the quote's would move pass 1's cycles, which the model
// would then charge).
//
// The beat's 16-bit words are added as a balanced tree (log2 of the words
// deep, 5 adders at 64 bytes), not one after another: a chain of 32 adds
// was about 100 LUT levels (spec §13 "Synthesis"). The sum is the same
// integer either way.
module lbnic_csum_beat #(
    parameter int unsigned DATA_BYTES = lbnic_pkg::TARGET_DATAPATH_BYTES,
    localparam int unsigned LB = $clog2(DATA_BYTES),
    localparam int unsigned IB = 16 - LB
) (
    input  logic [IB-1:0]           beat,
    input  logic [8*DATA_BYTES-1:0] data,
    input  logic [DATA_BYTES-1:0]   keep,
    input  logic [15:0]             lo,
    input  logic [15:0]             hi,
    input  logic [15:0]             acc,
    output logic [15:0]             sum
);
  localparam int unsigned NW = (DATA_BYTES + 1) / 2;  // 16-bit words
  localparam int unsigned SW = 24;                     // a partial sum
  // Partial sums left after `l` levels of the tree, and where level `l`
  // starts in the flat vector of all levels.
  function automatic int unsigned width_at(input int unsigned l);
    width_at = NW;
    for (int unsigned k = 0; k < l; k++) width_at = (width_at + 1) / 2;
  endfunction
  function automatic int unsigned start_at(input int unsigned l);
    start_at = 0;
    for (int unsigned k = 0; k < l; k++) start_at = start_at + width_at(k);
  endfunction
  localparam int unsigned LV = (NW > 1) ? $clog2(NW) : 0;
  localparam int unsigned ROOT = start_at(LV);
  localparam int unsigned NT = ROOT + 1;

  logic [SW*NT-1:0] t /* verilator split_var */;  // (levels read each other)
  // level 0: the words, each byte masked by keep and [lo, hi)
  for (genvar j = 0; j < NW; j++) begin : g_word
    logic [15:0] ph, pl;
    logic        mh, ml;
    logic [7:0]  bl;
    assign ph = {beat, LB'(2 * j)};
    assign mh = keep[2 * j] && ph >= lo && ph < hi;
    if (2 * j + 1 < DATA_BYTES) begin : g_lo
      assign pl = {beat, LB'(2 * j + 1)};
      assign ml = keep[2 * j + 1] && pl >= lo && pl < hi;
      assign bl = data[8 * (2 * j + 1) +: 8];
    end else begin : g_none
      assign pl = '0;
      assign ml = 1'b0;
      assign bl = '0;
    end
    assign t[SW * j +: SW] = {8'd0, mh ? data[8 * (2 * j) +: 8] : 8'd0, ml ? bl : 8'd0};
  end
  // levels 1..LV: pairs added, an odd last one carried
  for (genvar l = 0; l < LV; l++) begin : g_level
    localparam int unsigned N = width_at(l);
    localparam int unsigned A = start_at(l);
    localparam int unsigned B = start_at(l + 1);
    for (genvar i = 0; i < N / 2; i++) begin : g_pair
      assign t[SW * (B + i) +: SW] = t[SW * (A + 2 * i) +: SW] + t[SW * (A + 2 * i + 1) +: SW];
    end
    if (N % 2 == 1) begin : g_odd
      assign t[SW * (B + N / 2) +: SW] = t[SW * (A + N - 1) +: SW];
    end
  end

  logic [SW-1:0] bsum;
  logic [16:0] nacc;
  assign bsum = t[SW * ROOT +: SW];
  always_comb begin
    nacc = {1'b0, acc} + {1'b0, bsum[15:0]};
    nacc = {1'b0, nacc[15:0]} + {16'd0, nacc[16]};
    nacc = {1'b0, nacc[15:0]} + {9'd0, bsum[23:16]};
    nacc = {1'b0, nacc[15:0]} + {16'd0, nacc[16]};
  end
  assign sum = nacc[15:0];
endmodule
