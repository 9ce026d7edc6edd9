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
// read at the offset, then two adds side by side: the next offset and the
// bytes left, whose sign is the length check; the other checks come from
// the step's registers beside the read). A value
// on in_* while `en` is high is on the outputs STAGES clocks of `en` later;
// the 9th step (only "is this a 9th header": EXT_CHAIN) is combinational on
// the last register. `in_side` rides along unchanged (the parser's other
// fields), as does the window (`out_win`) and `end_off` (`out_end`). No
// reset: the parser's valid bits qualify the contents. The whole pipeline
// moves with `en` (the parser stalls as a whole).
//
// Every header starts at an offset = 2 (mod 4) (14 + 4·tags + 40 + multiples
// of 4), so the window is read as 4-byte words from byte 2: an 8-byte read is
// a 64:1 mux of 64 bits instead of a byte-granular barrel shift
// (lbnic_win_word, a generate tree over constant slices of the step's
// window: written in place into one wide vector, the tree was most of
// lbnic_parse_tb's 190 s of Verilator build; 22 s now).
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

  function automatic logic is_ext(input logic [7:0] nh);
    is_ext = nh == 8'd0 || nh == 8'd43 || nh == 8'd60 || nh == 8'd51 || nh == 8'd44;
  endfunction

  // The walk's state after each step (q_*: registered; c_*: a step's input,
  // step 0's from the ports) as flat vectors, step i's at [N*i+:N] (Yosys
  // 0.23 reads neither a module's struct typedef of a package type nor
  // multi-dimensional packed arrays). `left` = end_off - off, signed (19
  // bits: a quote's walk may start past its end): the step's two length
  // checks become compares of the header's length against it, made in
  // parallel with the next offset's add instead of after it (issue 13).
  logic [MAX_EXT*8-1:0]    q_nh, c_nh, n_nh;
  logic [MAX_EXT*18-1:0]   q_off, c_off, n_off, q_end, c_end;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [MAX_EXT*19-1:0]   q_left;  // (the 9th step needs no bytes left)
  /* verilator lint_on UNUSEDSIGNAL */
  logic [MAX_EXT*19-1:0]   c_left, n_left;
  logic [MAX_EXT-1:0]      q_done, c_done, n_done;
  logic [MAX_EXT*2-1:0]    q_res, c_res, n_res, q_fr, c_fr, n_fr;
  logic [MAX_EXT*32-1:0]   q_id, c_id, n_id;
  logic [MAX_EXT*8*W-1:0]  q_win, c_win;
  logic [MAX_EXT*SIDE-1:0] q_side, c_side;

  assign c_nh = {q_nh[8*(MAX_EXT-1)-1:0], nh_in};
  assign c_off = {q_off[18*(MAX_EXT-1)-1:0], off_in};
  assign c_end = {q_end[18*(MAX_EXT-1)-1:0], end_off};
  assign c_left = {q_left[19*(MAX_EXT-1)-1:0], {1'b0, end_off} - {1'b0, off_in}};
  assign c_done = {q_done[MAX_EXT-2:0], 1'b0};
  assign c_res = {q_res[2*(MAX_EXT-1)-1:0], EXT_OK};
  assign c_fr = {q_fr[2*(MAX_EXT-1)-1:0], 2'(lbnic_pipe_pkg::FRAG_NONE)};
  assign c_id = {q_id[32*(MAX_EXT-1)-1:0], 32'd0};
  assign c_win = {q_win[(8*W)*(MAX_EXT-1)-1:0], in_win};
  assign c_side = {q_side[SIDE*(MAX_EXT-1)-1:0], in_side};

  // One header a step: the loop body of the combinational walk this
  // replaced. Depth (issue 13): the 64:1 read is a tree of 2:1 muxes on the
  // offset's word index (3 LUT levels); the header's length goes into two
  // adders side by side (the next offset from offset + 8, and the bytes
  // left - 8 - length, whose sign is the "past the end" check); everything
  // else (is it an extension header, under 8 bytes left, past the window,
  // offset + 8, left - 8) comes from the step's registers alongside the
  // read.
  for (genvar i = 0; i < MAX_EXT; i++) begin : g_step
    /* verilator lint_off UNUSEDSIGNAL */
    logic [63:0] h;
    logic [15:0] fo;
    logic [18:0] dl;         // left - 8 - addend: [18] = past the end
    /* verilator lint_on UNUSEDSIGNAL */
    logic [18:0] addend;     // the header's length - 8
    logic [18:0] lm8;
    logic [17:0] off8;
    logic        t1, wnd, go;
    logic [7:0]  i_nh;  // the step's input
    logic [17:0] i_off;
    logic [18:0] i_left;
    logic        i_done;
    logic [1:0]  i_res, i_fr;
    logic [31:0] i_id;
    logic [7:0]  nh;
    logic [17:0] off;
    logic [18:0] left;
    logic        done;
    logic [1:0]  res;
    logic [1:0]  fr;
    logic [31:0] id;
    assign i_nh = c_nh[8*i+:8];
    assign i_off = c_off[18*i+:18];
    assign i_left = c_left[19*i+:19];
    assign i_done = c_done[i];
    assign i_res = c_res[2*i+:2];
    assign i_fr = c_fr[2*i+:2];
    assign i_id = c_id[32*i+:32];
    lbnic_win_word #(.W(W), .RW(64)) u_rd (
        .win(c_win[(8*W)*i+:8*W]), .index(i_off[AW-1:2]), .word(h)
    );
    assign fo = {h[23:16], h[31:24]};
    // (hlen = 8 + addend: fragment 8, AH (len + 2) * 4, others (len + 1) * 8)
    always_comb begin
      if (i_nh == 8'd44) addend = 19'd0;
      else if (i_nh == 8'd51) addend = 19'(h[15:8]) << 2;
      else addend = 19'(h[15:8]) << 3;
    end
    assign lm8 = i_left - 19'd8;
    assign dl = lm8 - addend;
    assign off8 = i_off + 18'd8;
    assign t1 = i_left[18] || i_left[17:3] == 15'd0;  // off + 8 > end
    assign wnd = i_off > 18'(W) - 18'd8;               // off + 8 > W
    assign go = !i_done && is_ext(i_nh) && !(i_nh == 8'd0 && i != 0) && !t1 && !wnd;
    always_comb begin
      nh = i_nh;
      off = i_off;
      left = i_left;
      done = i_done;
      res = i_res;
      fr = i_fr;
      id = i_id;
      if (!i_done) begin
        if (is_ext(i_nh)) begin
          if (i_nh == 8'd0 && i != 0) begin
            res = EXT_CHAIN;
            done = 1'b1;
          end else if (t1) begin
            res = EXT_TRUNC;
            done = 1'b1;
          end else if (wnd) begin
            res = EXT_WINDOW;
            done = 1'b1;
          end
        end else begin
          done = 1'b1;
        end
      end
      if (go) begin
        if (i_nh == 8'd44) begin
          if (fo[15:3] != 13'd0) fr = 2'(lbnic_pipe_pkg::FRAG_LATER);
          else if (fo[0]) fr = 2'(lbnic_pipe_pkg::FRAG_FIRST);
          if (fr != 2'(lbnic_pipe_pkg::FRAG_NONE))
            id = {h[39:32], h[47:40], h[55:48], h[63:56]};
        end
        if (dl[18]) begin
          res = EXT_TRUNC;
          done = 1'b1;
        end else begin
          nh = h[7:0];
          off = off8 + addend[17:0];
          left = dl;
          if (fr == 2'(lbnic_pipe_pkg::FRAG_LATER)) done = 1'b1;
        end
      end
    end
    assign n_nh[8*i+:8] = nh;
    assign n_off[18*i+:18] = off;
    assign n_left[19*i+:19] = left;
    assign n_done[i] = done;
    assign n_res[2*i+:2] = res;
    assign n_fr[2*i+:2] = fr;
    assign n_id[32*i+:32] = id;
  end

  always_ff @(posedge clk) begin
    if (en) begin
      q_nh <= n_nh;
      q_off <= n_off;
      q_left <= n_left;
      q_done <= n_done;
      q_res <= n_res;
      q_fr <= n_fr;
      q_id <= n_id;
      q_end <= c_end;
      q_win <= c_win;
      q_side <= c_side;
    end
  end

  // The 9th step: an extension header still to walk is one too many.
  always_comb begin
    result = q_res[2*(MAX_EXT-1)+:2];
    if (!q_done[MAX_EXT-1] && is_ext(q_nh[8*(MAX_EXT-1)+:8])) result = EXT_CHAIN;
  end
  assign proto = q_nh[8*(MAX_EXT-1)+:8];
  assign l4_off = q_off[18*(MAX_EXT-1)+:18];
  always_comb begin
    // (Yosys 0.23: no cast to a package's enum type)
    case (q_fr[2*(MAX_EXT-1)+:2])
      2'd1: frag = lbnic_pipe_pkg::FRAG_FIRST;
      2'd2: frag = lbnic_pipe_pkg::FRAG_LATER;
      default: frag = lbnic_pipe_pkg::FRAG_NONE;
    endcase
  end
  assign frag_id = q_id[32*(MAX_EXT-1)+:32];
  assign out_win = q_win[(8*W)*(MAX_EXT-1)+:8*W];
  assign out_end = q_end[18*(MAX_EXT-1)+:18];
  assign out_side = q_side[SIDE*(MAX_EXT-1)+:SIDE];
endmodule
