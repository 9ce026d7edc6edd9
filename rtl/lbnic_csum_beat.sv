// One beat's bytes added into a running RFC 1071 sum (not complemented):
// the bytes of beat `beat` (frame offset beat * DATA_BYTES + k for byte k)
// that `keep` marks and that lie in [lo, hi), even offsets high; the
// result folded to 16 bits. Combinational; what lbnic_rx_sum (as RX writes
// a frame) and lbnic_hdr_sums (as the egress reads it) both accumulate.
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
  logic [15:0] pos;
  logic [23:0] bsum;
  logic [16:0] nacc;
  always_comb begin
    bsum = 24'd0;
    for (int k = 0; k < DATA_BYTES; k++) begin
      pos = {beat, LB'(k)};
      if (keep[k] && pos >= lo && pos < hi)
        bsum = bsum + (k[0] ? 24'(data[8*k+:8]) : {8'd0, data[8*k+:8], 8'd0});
    end
    nacc = {1'b0, acc} + {1'b0, bsum[15:0]};
    nacc = {1'b0, nacc[15:0]} + {16'd0, nacc[16]};
    nacc = {1'b0, nacc[15:0]} + {9'd0, bsum[23:16]};
    nacc = {1'b0, nacc[15:0]} + {16'd0, nacc[16]};
  end
  assign sum = nacc[15:0];
endmodule
