// The bytes a beat carries. tkeep is contiguous from byte 0 (lbnic_top's
// port rule), so the count is where its ones end: a one-hot edge encoded
// to binary, about two LUT levels, where a popcount is a tree of adders
// (and a `for` loop of adds a chain: spec §13 "Synthesis"). A tkeep with
// holes gives a count that is wrong but defined.
module lbnic_keep_count #(
    parameter int unsigned DATA_BYTES = lbnic_pkg::TARGET_DATAPATH_BYTES,
    localparam int unsigned CW = $clog2(DATA_BYTES) + 1
) (
    input  logic [DATA_BYTES-1:0] keep,
    output logic [CW-1:0]         count
);
  // last[i]: byte i is the last one kept
  logic [DATA_BYTES-1:0] last;
  for (genvar i = 0; i < DATA_BYTES; i++) begin : g_last
    if (i + 1 < DATA_BYTES) begin : g_mid
      assign last[i] = keep[i] && !keep[i + 1];
    end else begin : g_end
      assign last[i] = keep[i];
    end
  end
  always_comb begin
    count = '0;
    for (int i = 0; i < DATA_BYTES; i++) begin
      if (last[i]) count = count | CW'(i + 1);
    end
  end
endmodule
