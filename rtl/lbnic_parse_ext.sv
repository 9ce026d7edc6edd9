// IPv6 extension-header walk of the parser (spec §12.1.1,
// hw_model::packet::parse `ipv6_ext`), combinational: used twice by
// lbnic_parse (the packet's own chain, the chain inside an ICMPv6 error's
// quote). Offsets are absolute frame offsets; `win` is the header window
// (byte k on bits [8k+7:8k]).
//
// Hop-by-hop (first only), routing, fragment, destination options and AH
// are walked, at most lbnic_pkg::PARSE_MAX_EXT (8); the walk stops at the
// first other next-header value, or after a fragment header of a later
// fragment. Per header, in the Rust order: a 9th header or hop-by-hop not
// first -> EXT_CHAIN; first 8 bytes past `end_off` -> EXT_TRUNC; first 8
// bytes past the window -> EXT_WINDOW; whole header past `end_off` ->
// EXT_TRUNC.
//
// Every header starts at an offset = 2 (mod 4) (14 + 4·tags + 40 + multiples
// of 4), so the window is read as 4-byte words from byte 2: an 8-byte read is
// a 64:1 mux of 64 bits instead of a byte-granular barrel shift.
module lbnic_parse_ext #(
    parameter int unsigned W = lbnic_pkg::PARSE_WINDOW
) (
  /* verilator lint_off UNUSEDSIGNAL */
    input  logic [8*W-1:0] win,
  /* verilator lint_on UNUSEDSIGNAL */
    input  logic [7:0]     nh_in,
    input  logic [17:0]    off_in,
    input  logic [17:0]    end_off,
    output logic [1:0]     result,   // EXT_OK / EXT_CHAIN / EXT_TRUNC / EXT_WINDOW
    output logic [7:0]     proto,
    output logic [17:0]    l4_off,
    output lbnic_pipe_pkg::frag_e frag,
    output logic [31:0]    frag_id
);
  localparam logic [1:0] EXT_OK = 2'd0;
  localparam logic [1:0] EXT_CHAIN = 2'd1;
  localparam logic [1:0] EXT_TRUNC = 2'd2;
  localparam logic [1:0] EXT_WINDOW = 2'd3;
  localparam int unsigned MAX_EXT = 8;
  localparam int unsigned AW = $clog2(W);

  // The window from byte 2 on, zero-extended past its end.
  logic [8*W+63:0] win2x;
  assign win2x = {64'h0, 16'h0, win[8*W-1:16]};

  logic [7:0]  nh;
  logic [17:0] off;
  logic [17:0] hlen;
  logic        done;
  logic [63:0] h;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [15:0] fo;
  /* verilator lint_on UNUSEDSIGNAL */
  lbnic_pipe_pkg::frag_e fr;
  logic [31:0] id;

  always_comb begin
    nh = nh_in;
    off = off_in;
    done = 1'b0;
    result = EXT_OK;
    fr = lbnic_pipe_pkg::FRAG_NONE;
    id = 32'd0;
    hlen = 18'd0;
    h = 64'd0;
    fo = 16'd0;
    for (int i = 0; i <= MAX_EXT; i++) begin
      // The read is a word mux, not a shift: Yosys's `share` pass looks for
      // exclusive shifts to merge, a SAT problem over the whole window that
      // runs out of memory.
      h = 64'd0;
      for (int j = 0; j < W / 4; j++)
        if (off[AW-1:2] == (AW - 2)'(j)) h = win2x[32*j+:64];
      if (!done) begin
        if (nh == 8'd0 || nh == 8'd43 || nh == 8'd60 || nh == 8'd51 || nh == 8'd44) begin
          if (i == MAX_EXT || (nh == 8'd0 && i != 0)) begin
            result = EXT_CHAIN;
            done = 1'b1;
          end else if (off + 18'd8 > end_off) begin
            result = EXT_TRUNC;
            done = 1'b1;
          end else if (off + 18'd8 > 18'(W)) begin
            result = EXT_WINDOW;
            done = 1'b1;
          end else begin
            if (nh == 8'd44) begin
              fo = {h[23:16], h[31:24]};
              if (fo[15:3] != 13'd0) fr = lbnic_pipe_pkg::FRAG_LATER;
              else if (fo[0]) fr = lbnic_pipe_pkg::FRAG_FIRST;
              if (fr != lbnic_pipe_pkg::FRAG_NONE)
                id = {h[39:32], h[47:40], h[55:48], h[63:56]};
              hlen = 18'd8;
            end else if (nh == 8'd51) begin
              hlen = (18'(h[15:8]) + 18'd2) << 2;
            end else begin
              hlen = (18'(h[15:8]) + 18'd1) << 3;
            end
            if (off + hlen > end_off) begin
              result = EXT_TRUNC;
              done = 1'b1;
            end else begin
              nh = h[7:0];
              off = off + hlen;
              if (fr == lbnic_pipe_pkg::FRAG_LATER) done = 1'b1;
            end
          end
        end else begin
          done = 1'b1;
        end
      end
    end
    proto = nh;
    l4_off = off;
    frag = fr;
    frag_id = id;
  end
endmodule
