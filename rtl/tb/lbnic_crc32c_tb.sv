// Testbench of lbnic_crc32c: RFC 3720 B.4 vectors, "123456789", every
// length 0..129 and random lengths up to 9600 bytes, expected values from
// the `crc32c` crate (crc32c.txt written by contract/examples/rtl_vectors.rs,
// in +vectors=DIR). Beats arrive with random gaps, inside frames too, and
// frames back to back; junk in the bytes past tkeep. Every CRC must come
// out in order, exactly LATENCY clocks after its tlast beat. Prints PASS,
// or exits non-zero.
module lbnic_crc32c_tb;
  localparam int DATA_BYTES = 64;
  localparam int LATENCY = 8;
  localparam int MAX_WORDS = 16384;

  logic clk = 1'b0;
  logic rst = 1'b1;
  always #1 clk = ~clk;

  logic [8*DATA_BYTES-1:0] tdata = '0;
  logic [DATA_BYTES-1:0]   tkeep = '0;
  logic                    tvalid = 1'b0;
  logic                    tlast = 1'b0;
  logic                    tready;
  logic                    out_valid;
  logic [31:0]             out_crc;

  lbnic_crc32c #(.DATA_BYTES(DATA_BYTES)) dut (
      .clk, .rst,
      .s_axis_tdata(tdata), .s_axis_tkeep(tkeep), .s_axis_tvalid(tvalid),
      .s_axis_tlast(tlast), .s_axis_tready(tready),
      .out_valid, .out_crc
  );

  // crc32c.txt: count, then per message: len, crc, ceil(len / 64) beats
  logic [8*DATA_BYTES-1:0] words [MAX_WORDS];
  int unsigned n;

  logic [31:0] want_q [$];  // per frame, in input order
  logic [31:0] exp_crc [$];
  int          exp_len [$];
  int          len_q [$];
  int          exp_cycle [$];
  int          cycle = 0;
  int          errors = 0;
  int          checked = 0;

  always @(posedge clk) begin
    if (!rst && tvalid && tready && tlast) begin
      exp_crc.push_back(want_q.pop_front());
      exp_len.push_back(len_q.pop_front());
      exp_cycle.push_back(cycle + LATENCY);
    end
    if (!rst && out_valid) begin
      if (exp_crc.size() == 0) begin
        $display("FAIL: CRC %08x with none expected", out_crc);
        errors++;
      end else begin
        if (out_crc !== exp_crc[0] || cycle != exp_cycle[0]) begin
          $display("FAIL: message %0d (%0d bytes): CRC %08x at cycle %0d, want %08x at %0d",
                   checked, exp_len[0], out_crc, cycle, exp_crc[0], exp_cycle[0]);
          errors++;
        end
        void'(exp_crc.pop_front());
        void'(exp_len.pop_front());
        void'(exp_cycle.pop_front());
        checked++;
      end
    end
    cycle++;
  end

  task automatic idle();
    tvalid = 1'b0;
    tdata = {16{$urandom}};
    tkeep = DATA_BYTES'($urandom);
    tlast = $urandom_range(1) == 1;
    @(negedge clk);
  endtask

  initial begin
    string dir;
    int at;
    if (!$value$plusargs("vectors=%s", dir)) dir = "rtl/build/vectors";
    $readmemh({dir, "/crc32c.txt"}, words);
    n = words[0][31:0];
    if (n < 100) $fatal(1, "%s/crc32c.txt: %0d messages", dir, n);

    repeat (4) @(negedge clk);
    rst = 1'b0;
    at = 1;
    for (int m = 0; m < int'(n); m++) begin
      automatic int len = int'(words[at][31:0]);
      automatic int beats = len == 0 ? 1 : (len + DATA_BYTES - 1) / DATA_BYTES;
      if (at + 2 + (len + DATA_BYTES - 1) / DATA_BYTES > MAX_WORDS) $fatal(1, "vectors exceed MAX_WORDS");
      want_q.push_back(words[at+1][31:0]);
      len_q.push_back(len);
      at += 2;
      // every third frame back to back with its predecessor
      if (m % 3 != 0) while ($urandom_range(2) == 0) idle();
      for (int b = 0; b < beats; b++) begin
        automatic int left = len - b * DATA_BYTES;
        // gaps inside frames too
        if (b > 0) while ($urandom_range(5) == 0) idle();
        tvalid = 1'b1;
        tlast = b == beats - 1;
        if (len == 0) begin
          tdata = {16{$urandom}};
          tkeep = '0;
        end else begin
          tdata = words[at];
          at++;
          tkeep = left >= DATA_BYTES ? '1 : (DATA_BYTES'(1) << left) - 1;
        end
        @(negedge clk);
      end
    end
    tvalid = 1'b0;
    repeat (LATENCY + 4) @(negedge clk);
    if (exp_crc.size() != 0) begin
      $display("FAIL: %0d CRCs never came out", exp_crc.size());
      errors++;
    end
    if (errors != 0 || checked != int'(n)) $fatal(1, "lbnic_crc32c: %0d errors, %0d of %0d checked", errors, checked, n);
    $display("lbnic_crc32c: %0d messages PASS", n);
    $finish;
  end
endmodule
