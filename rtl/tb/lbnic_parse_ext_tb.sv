// Testbench of lbnic_parse_ext (the extension-header walk, one header per
// clock over STAGES = 8 registered steps), alone: for every IPv6 frame of +vectors=DIR/parse.vec that the Rust
// model parses OK (from `cargo run -p hw-model-tests --example
// rtl_vectors_parse`), the walk from the IPv6 header's next header at
// l3_offset + 40, bounded by l3_offset + l3_len, must end with EXT_OK at
// the model's protocol, L4 offset, fragment position and identification,
// STAGES clocks of `en` after its input (the side input riding along).
// The walk's refusals (EXT_CHAIN / EXT_TRUNC / EXT_WINDOW) are checked
// through lbnic_parse_tb, where they become the model's reasons.
`timescale 1ns / 1ps
module lbnic_parse_ext_tb;
  localparam int unsigned W = lbnic_pkg::PARSE_WINDOW;

  localparam int unsigned STAGES = 8;
  logic           clk = 1'b0;
  logic           en = 1'b1;
  logic [8*W-1:0] in_win;
  logic [8*W-1:0] out_win;
  logic [17:0]    out_end;
  logic [15:0]    in_side;
  logic [15:0]    out_side;
  logic [7:0]     nh_in;
  logic [17:0]    off_in;
  logic [17:0]    end_off;
  logic [1:0]     result;
  logic [7:0]     proto;
  logic [17:0]    l4_off;
  lbnic_pipe_pkg::frag_e frag;
  logic [31:0]    frag_id;

  lbnic_parse_ext #(.W(W), .SIDE(16)) dut (.*);

  initial begin
    string dir, name;
    int fd, n, checked, ext_seen;
    logic [31:0] len, status, reason, vv, vlan, l2, l3, v6, eproto, l3len, l4, efrag, fid;
    logic [31:0] sport, dport, flags, iv, iproto, isport, idport, il4, tos, df;
    logic [47:0] dmac, smac;
    logic [127:0] src, dst, isrc, idst;
    logic [8*W-1:0] w;
    checked = 0;
    ext_seen = 0;
    if (!$value$plusargs("vectors=%s", dir)) dir = "rtl/build/vectors";
    fd = $fopen({dir, "/parse.vec"}, "r");
    if (fd == 0) $fatal(1, "cannot open %s/parse.vec", dir);
    while (!$feof(fd)) begin
      n = $fscanf(fd, "%h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %s\n",
                  len, w, status, reason, dmac, smac, vv, vlan, l2, l3, v6, src, dst, eproto,
                  l3len, l4, efrag, fid, sport, dport, flags, iv, isrc, idst, iproto, isport,
                  idport, il4, tos, df, name);
      if (n != 31) begin
        if (n <= 0 && $feof(fd)) break;
        $fatal(1, "malformed line (%0d fields)", n);
      end
      if (status != 0 || v6[0] != 1'b1) continue;
      in_win = w;
      in_side = 16'(checked);
      nh_in = w[8*(l3+6)+:8];
      off_in = 18'(l3 + 40);
      end_off = 18'(l3 + l3len);
      // the walk is STAGES clocks deep: one vector at a time through it
      repeat (STAGES) begin
        #1 clk = 1'b1;
        #1 clk = 1'b0;
      end
      if (out_side != 16'(checked) || out_win != w || out_end != end_off)
        $fatal(1, "'%s': side, window or end did not ride along", name);
      if (result != 2'd0 || proto != eproto[7:0] || l4_off != 18'(l4) || frag != lbnic_pipe_pkg::frag_e'(efrag[1:0])
          || frag_id != fid)
        $fatal(1, "'%s': walk gave result %0d proto %0d l4 %0d frag %0d id %h, expected 0 %0d %0d %0d %h",
               name, result, proto, l4_off, frag, frag_id, eproto, l4, efrag, fid);
      checked++;
      if (l4 != l3 + 40) ext_seen++;
    end
    if (checked < 1000 || ext_seen < 100) $fatal(1, "too few vectors: %0d (%0d with extension headers)", checked, ext_seen);
    $display("lbnic_parse_ext_tb: %0d IPv6 frames (%0d with extension headers) walk as in the Rust model",
             checked, ext_seen);
    $display("PASS");
    $finish;
  end
endmodule
