// Testbench of lbnic_word_sel: every index of tables of 1, 3, 8 and 256
// words (the default target's VIP table: 256 x 512 bits), and indexes past
// each table, give the word at that index or zero. Prints PASS, or exits
// non-zero.
module lbnic_word_sel_tb;
  localparam int unsigned VB = lbnic_pkg::VIP_BITS;

  logic [1*16-1:0]   t1;
  logic [3*16-1:0]   t3;
  logic [8*5-1:0]    t8;
  logic [256*VB-1:0] tv;
  logic [1:0]        i1;
  logic [3:0]        i3;
  logic [2:0]        i8;
  logic [15:0]       iv;
  logic [15:0]       w1, w3;
  logic [4:0]        w8;
  logic [VB-1:0]     wv;
  int errors = 0;
  int checks = 0;

  lbnic_word_sel #(.W(16), .N(1), .IW(2)) u1 (.words(t1), .index(i1), .word(w1));
  lbnic_word_sel #(.W(16), .N(3), .IW(4)) u3 (.words(t3), .index(i3), .word(w3));
  lbnic_word_sel #(.W(5), .N(8), .IW(3)) u8 (.words(t8), .index(i8), .word(w8));
  lbnic_word_sel #(.W(VB), .N(256), .IW(16)) uv (.words(tv), .index(iv), .word(wv));

  task automatic check(input logic [VB-1:0] got, input logic [VB-1:0] want, input string what,
                        input int i);
    checks++;
    if (got !== want) begin
      $display("FAIL: %s index %0d: got %h, want %h", what, i, got, want);
      errors++;
    end
  endtask

  initial begin
    for (int n = 0; n < 1 * 16; n++) t1[n] = 1'($urandom);
    for (int n = 0; n < 3 * 16; n++) t3[n] = 1'($urandom);
    for (int n = 0; n < 8 * 5; n++) t8[n] = 1'($urandom);
    for (int n = 0; n < 256 * VB / 32; n++) tv[32*n +: 32] = $urandom;
    for (int i = 0; i < 4; i++) begin
      i1 = 2'(i);
      #1;
      check(VB'(w1), i < 1 ? VB'(t1[16*i +: 16]) : '0, "1 word", i);
    end
    for (int i = 0; i < 16; i++) begin
      i3 = 4'(i);
      #1;
      check(VB'(w3), i < 3 ? VB'(t3[16*i +: 16]) : '0, "3 words", i);
    end
    for (int i = 0; i < 8; i++) begin
      i8 = 3'(i);
      #1;
      check(VB'(w8), VB'(t8[5*i +: 5]), "8 words", i);
    end
    for (int i = 0; i < 256; i++) begin
      iv = 16'(i);
      #1;
      check(wv, tv[VB*i +: VB], "256 words", i);
    end
    for (int k = 0; k < 5; k++) begin
      int i;
      i = (k == 0) ? 256 : (k == 1) ? 257 : (k == 2) ? 511 : (k == 3) ? 4096 : 65535;
      iv = 16'(i);
      #1;
      check(wv, '0, "256 words, past", i);
    end
    if (errors != 0) $fatal(1, "FAIL: %0d of %0d checks", errors, checks);
    $display("PASS: %0d indexes", checks);
    $finish;
  end
endmodule
