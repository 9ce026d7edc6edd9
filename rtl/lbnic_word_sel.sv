// One W-bit word of a flat table of N words, chosen by index; zero for an
// index past the table. A tree of 2:1 multiplexers over constant slices,
// one level per index bit (log2(N) levels: three LUT levels for 256
// words, two 4:1 muxes a LUT6 and the MUXF7/F8 between). Written as the
// tree because Yosys 0.23 makes a variable-offset slice (`t[W*i +: W]`)
// into a shifter over the whole table: at the default target's 256 x
// 512-bit VIP table, ~1M multiplexers before optimisation per read, which
// held lbnic_ct_engine's synthesis for more than an hour (spec §13
// "Synthesis").
module lbnic_word_sel #(
    parameter int unsigned W = 8,
    parameter int unsigned N = 2,
    parameter int unsigned IW = 1
) (
    input  logic [N*W-1:0] words,
    input  logic [IW-1:0]  index,
    output logic [W-1:0]   word
);
  // levels, the table padded to a power of two, the index to L bits
  localparam int unsigned L = (N > 1) ? $clog2(N) : 1;
  localparam int unsigned P = 1 << L;
  localparam int unsigned XW = (IW > L) ? IW : L;

  logic [XW-1:0] ix;
  assign ix = XW'(index);
  // whether the index is past the table (bits above L, or a padding word)
  logic past;
  assign past = (XW > L && (ix >> L) != '0) || 32'(ix[L-1:0]) >= N;

  // Node n of level d is chosen from nodes 2n, 2n+1 of level d-1 by index
  // bit d-1; level 0 is the table, padded with zero words. Each node its
  // own signal: Verilator makes a line of C++ of each, where the tree
  // written in place into one wide vector was a function of thousands.
  for (genvar d = 0; d <= L; d++) begin : g_lv
    for (genvar n = 0; n < (P >> d); n++) begin : g_n
      logic [W-1:0] v;
      if (d != 0) begin : g_mux
        assign v = ix[d-1] ? g_lv[d-1].g_n[2*n+1].v : g_lv[d-1].g_n[2*n].v;
      end else if (n < N) begin : g_leaf
        assign v = words[n*W +: W];
      end else begin : g_pad
        assign v = '0;
      end
    end
  end
  assign word = past ? '0 : g_lv[L].g_n[0].v;
endmodule
