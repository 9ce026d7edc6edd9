// RW bits of the parser's header window from byte 2 + 4k on (k = index),
// zero past the window's end: a read at a header offset, which is 2 (mod
// 4) (14 + 4·tags + 20 or 40 + multiples of 4), so a word mux of W/4
// leaves, not a byte-granular shift (Yosys's `share` pass looks for
// exclusive shifts to merge, a SAT problem over the window that runs out
// of memory). A generate tree of 2:1 muxes on the index's bits, each node
// its own signal: Verilator makes a line of C++ of a node, where the tree
// written in place into one wide vector was functions of ~200k lines.
// Checked through lbnic_parse_ext_tb and lbnic_parse_tb.
module lbnic_win_word #(
    parameter int unsigned W = lbnic_pkg::PARSE_WINDOW,  // window bytes
    parameter int unsigned RW = 32,                      // bits read
    localparam int unsigned NW = W / 4,
    localparam int unsigned IW = $clog2(NW)
) (
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic [8*W-1:0] win,    // bytes 0-1 are no header's
    /* verilator lint_on UNUSEDSIGNAL */
    input  logic [IW-1:0]  index,
    output logic [RW-1:0]  word
);
  for (genvar l = 0; l <= IW; l++) begin : g_lv
    for (genvar j = 0; j < (NW >> l); j++) begin : g_n
      logic [RW-1:0] v;
      if (l != 0) begin : g_mux
        assign v = index[l-1] ? g_lv[l-1].g_n[2*j+1].v : g_lv[l-1].g_n[2*j].v;
      end else if (16 + 32 * j + RW <= 8 * W) begin : g_leaf
        assign v = win[16+32*j+:RW];
      end else begin : g_leaf_end
        assign v = RW'(win[8*W-1:16+32*j]);
      end
    end
  end
  assign word = g_lv[IW].g_n[0].v;
endmodule
