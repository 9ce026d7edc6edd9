// IPv6 extension-header walk of the parser (spec §12.1.1,
// hw_model::packet::parse `ipv6_ext`), pipelined one header per clock: used
// twice by lbnic_parse (the packet's own chain, the chain inside an ICMPv6
// error's quote). Offsets are absolute frame offsets; `in_win` is the header
// window (byte k on bits [8k+7:8k]).
//
// Hop-by-hop (first only), routing, fragment, destination options and AH
// are walked, at most MAX_EXT (8); the walk stops at the first other
// next-header value, or after a fragment header of a later fragment. Per
// header, in the Rust order: a 9th header or hop-by-hop not first ->
// EXT_CHAIN; first 8 bytes past `end_off` -> EXT_TRUNC; first 8 bytes past
// the window -> EXT_WINDOW; whole header past `end_off` -> EXT_TRUNC.
//
// Pipeline: STAGES = MAX_EXT registered steps, one header each (the walk is
// pointer chasing: header i's offset is known only after header i-1's
// length is read, so one step per clock is the floor; a step is a 64:1 word
// read at the offset, the header length, one add and one compare). A value
// on in_* while `en` is high is on the outputs STAGES clocks of `en` later;
// the 9th step (only "is this a 9th header": EXT_CHAIN) is combinational on
// the last register. `in_side` rides along unchanged (the parser's other
// fields), as does the window (`out_win`) and `end_off` (`out_end`). No
// reset: the parser's valid bits qualify the contents. The whole pipeline
// moves with `en` (the parser stalls as a whole).
//
// Every header starts at an offset = 2 (mod 4) (14 + 4·tags + 40 + multiples
// of 4), so the window is read as 4-byte words from byte 2: an 8-byte read is
// a 64:1 mux of 64 bits instead of a byte-granular barrel shift.
module lbnic_parse_ext #(
    parameter int unsigned W = lbnic_pkg::PARSE_WINDOW,
    parameter int unsigned SIDE = 1
) (
    input  logic                  clk,
    input  logic                  en,
    input  logic [8*W-1:0]        in_win,
    input  logic [7:0]            nh_in,
    input  logic [17:0]           off_in,
    input  logic [17:0]           end_off,
    input  logic [SIDE-1:0]       in_side,
    output logic [8*W-1:0]        out_win,
    output logic [17:0]           out_end,
    output logic [SIDE-1:0]       out_side,
    output logic [1:0]            result,   // EXT_OK / EXT_CHAIN / EXT_TRUNC / EXT_WINDOW
    output logic [7:0]            proto,
    output logic [17:0]           l4_off,
    output lbnic_pipe_pkg::frag_e frag,
    output logic [31:0]           frag_id
);
  localparam logic [1:0] EXT_OK = 2'd0;
  localparam logic [1:0] EXT_CHAIN = 2'd1;
  localparam logic [1:0] EXT_TRUNC = 2'd2;
  localparam logic [1:0] EXT_WINDOW = 2'd3;
  localparam int unsigned MAX_EXT = 8;
  /* verilator lint_off UNUSEDPARAM */
  localparam int unsigned STAGES = MAX_EXT;  // documentation; lbnic_parse counts on it
  /* verilator lint_on UNUSEDPARAM */
  localparam int unsigned AW = $clog2(W);

  typedef struct packed {
    logic [7:0]  nh;
    logic [17:0] off;
    logic        done;
    logic [1:0]  result;
    lbnic_pipe_pkg::frag_e fr;
    logic [31:0] id;
  } walk_t;

  function automatic logic is_ext(input logic [7:0] nh);
    is_ext = nh == 8'd0 || nh == 8'd43 || nh == 8'd60 || nh == 8'd51 || nh == 8'd44;
  endfunction

  // One header: the loop body of the combinational walk this replaced.
  /* verilator lint_off UNUSEDSIGNAL */
  function automatic walk_t step(input walk_t s, input logic [8*W-1:0] win,
                                 input logic [17:0] eoff, input bit first);
    logic [8*W+63:0] win2x;  // the window from byte 2 on, zero-extended
    logic [63:0] h;
    logic [17:0] hlen;
    logic [15:0] fo;
    walk_t n;
    n = s;
    win2x = {64'h0, 16'h0, win[8*W-1:16]};
    // A word mux, not a shift: Yosys's `share` pass looks for exclusive
    // shifts to merge, a SAT problem over the whole window that runs out of
    // memory.
    h = 64'd0;
    for (int j = 0; j < W / 4; j++)
      if (s.off[AW-1:2] == (AW - 2)'(j)) h = win2x[32*j+:64];
    fo = {h[23:16], h[31:24]};
    if (s.nh == 8'd44) hlen = 18'd8;
    else if (s.nh == 8'd51) hlen = (18'(h[15:8]) + 18'd2) << 2;
    else hlen = (18'(h[15:8]) + 18'd1) << 3;
    if (!s.done) begin
      if (is_ext(s.nh)) begin
        if (s.nh == 8'd0 && !first) begin
          n.result = EXT_CHAIN;
          n.done = 1'b1;
        end else if (s.off + 18'd8 > eoff) begin
          n.result = EXT_TRUNC;
          n.done = 1'b1;
        end else if (s.off + 18'd8 > 18'(W)) begin
          n.result = EXT_WINDOW;
          n.done = 1'b1;
        end else begin
          if (s.nh == 8'd44) begin
            if (fo[15:3] != 13'd0) n.fr = lbnic_pipe_pkg::FRAG_LATER;
            else if (fo[0]) n.fr = lbnic_pipe_pkg::FRAG_FIRST;
            if (n.fr != lbnic_pipe_pkg::FRAG_NONE)
              n.id = {h[39:32], h[47:40], h[55:48], h[63:56]};
          end
          if (s.off + hlen > eoff) begin
            n.result = EXT_TRUNC;
            n.done = 1'b1;
          end else begin
            n.nh = h[7:0];
            n.off = s.off + hlen;
            if (n.fr == lbnic_pipe_pkg::FRAG_LATER) n.done = 1'b1;
          end
        end
      end else begin
        n.done = 1'b1;
      end
    end
    return n;
  endfunction
  /* verilator lint_on UNUSEDSIGNAL */

  walk_t          r_s[MAX_EXT];
  logic [8*W-1:0] r_win[MAX_EXT];
  logic [17:0]    r_end[MAX_EXT];
  logic [SIDE-1:0] r_side[MAX_EXT];

  walk_t s_in;
  always_comb begin
    s_in = '0;
    s_in.nh = nh_in;
    s_in.off = off_in;
    s_in.result = EXT_OK;
    s_in.fr = lbnic_pipe_pkg::FRAG_NONE;
  end

  always_ff @(posedge clk) begin
    if (en) begin
      r_s[0] <= step(s_in, in_win, end_off, 1'b1);
      r_win[0] <= in_win;
      r_end[0] <= end_off;
      r_side[0] <= in_side;
      for (int i = 1; i < MAX_EXT; i++) begin
        r_s[i] <= step(r_s[i-1], r_win[i-1], r_end[i-1], 1'b0);
        r_win[i] <= r_win[i-1];
        r_end[i] <= r_end[i-1];
        r_side[i] <= r_side[i-1];
      end
    end
  end

  // The 9th step: an extension header still to walk is one too many.
  walk_t last;
  assign last = r_s[MAX_EXT-1];
  always_comb begin
    result = last.result;
    if (!last.done && is_ext(last.nh)) result = EXT_CHAIN;
  end
  assign proto = last.nh;
  assign l4_off = last.off;
  assign frag = last.fr;
  assign frag_id = last.id;
  assign out_win = r_win[MAX_EXT-1];
  assign out_end = r_end[MAX_EXT-1];
  assign out_side = r_side[MAX_EXT-1];
endmodule
