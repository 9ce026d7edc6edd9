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
  // the one-hot last byte kept, encoded: an OR of constants, no adds
  function automatic logic [CW-1:0] encode(input logic [DATA_BYTES-1:0] last);
    encode = '0;
    for (int unsigned i = 0; i < DATA_BYTES; i++) begin
      if (last[i]) encode = encode | CW'(i + 1);
    end
  endfunction
  assign count = encode(keep & ~(keep >> 1));
endmodule
