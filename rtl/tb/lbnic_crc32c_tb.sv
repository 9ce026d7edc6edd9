// Testbench of lbnic_crc32c: RFC 3720 B.4 vectors, "123456789", every
// length 0..129 and random lengths up to 9600 bytes, expected values from
// the `crc32c` crate (crc32c.txt written by contract/examples/rtl_vectors.rs,
// in +vectors=DIR), through two instances at once: the target's 64-byte
// beats and 16-byte beats (another tail depth). Beats arrive with random
// gaps, inside frames too, and frames back to back; junk in the bytes past
// tkeep. Every CRC must come out in order, exactly LATENCY clocks after its
// tlast beat. Prints PASS, or exits non-zero.
module lbnic_crc32c_tb;
  localparam int FILE_BEAT = 64;  // bytes per beat line of crc32c.txt
  localparam int MAX_WORDS = 16384;
  localparam int CONFIGS = 2;

  logic clk = 1'b0;
  logic rst = 1'b1;
  always #1 clk = ~clk;

  // crc32c.txt: count, then per message: len, crc, ceil(len / 64) beats
  logic [8*FILE_BEAT-1:0] words [MAX_WORDS];
  int unsigned n;
  int errors = 0;
  logic [CONFIGS-1:0] done = '0;

  for (genvar c = 0; c < CONFIGS; c++) begin : g_cfg
    localparam int DATA_BYTES = c == 0 ? lbnic_pkg::TARGET_DATAPATH_BYTES : 16;
    // 4 + ceil(log2(DATA_BYTES + 1) / 2): 8 at 64 bytes, 7 at 16
    localparam int LATENCY = 4 + ($clog2(DATA_BYTES + 1) + 1) / 2;

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

    logic [31:0] want_q [$];  // per frame, in input order
    int          len_q [$];
    logic [31:0] exp_crc [$];
    int          exp_len [$];
    int          exp_cycle [$];
    int          cycle = 0;
    int          checked = 0;

    always @(posedge clk) begin
      if (!rst && tvalid && tready && tlast) begin
        exp_crc.push_back(want_q.pop_front());
        exp_len.push_back(len_q.pop_front());
        exp_cycle.push_back(cycle + LATENCY);
      end
      if (!rst && out_valid) begin
        if (exp_crc.size() == 0) begin
          $display("FAIL[%0d]: CRC %08x with none expected", DATA_BYTES, out_crc);
          errors++;
        end else begin
          if (out_crc !== exp_crc[0] || cycle != exp_cycle[0]) begin
            $display("FAIL[%0d]: message %0d (%0d bytes): CRC %08x at cycle %0d, want %08x at %0d",
                     DATA_BYTES, checked, exp_len[0], out_crc, cycle, exp_crc[0], exp_cycle[0]);
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
      tdata = {(DATA_BYTES / 4){$urandom}};
      tkeep = DATA_BYTES'($urandom);
      tlast = $urandom_range(1) == 1;
      @(negedge clk);
    endtask

    initial begin
      int at;
      wait (!rst);
      @(negedge clk);
      at = 1;
      for (int m = 0; m < int'(n); m++) begin
        automatic int len = int'(words[at][31:0]);
        automatic int beats = len == 0 ? 1 : (len + DATA_BYTES - 1) / DATA_BYTES;
        want_q.push_back(words[at+1][31:0]);
        len_q.push_back(len);
        at += 2;
        // every third frame back to back with its predecessor
        if (m % 3 != 0) while ($urandom_range(2) == 0) idle();
        for (int b = 0; b < beats; b++) begin
          automatic int left = len - b * DATA_BYTES;
          automatic int first = b * DATA_BYTES;  // byte of the message
          // gaps inside frames too
          if (b > 0) while ($urandom_range(5) == 0) idle();
          tvalid = 1'b1;
          tlast = b == beats - 1;
          if (len == 0) begin
            tdata = {(DATA_BYTES / 4){$urandom}};
            tkeep = '0;
          end else begin
            // the file's beats hold junk past the message, as they should
            tdata = words[at + first / FILE_BEAT][8 * (first % FILE_BEAT) +: 8 * DATA_BYTES];
            tkeep = left >= DATA_BYTES ? '1 : (DATA_BYTES'(1) << left) - 1;
          end
          @(negedge clk);
        end
        at += (len + FILE_BEAT - 1) / FILE_BEAT;
      end
      tvalid = 1'b0;
      repeat (LATENCY + 4) @(negedge clk);
      if (exp_crc.size() != 0) begin
        $display("FAIL[%0d]: %0d CRCs never came out", DATA_BYTES, exp_crc.size());
        errors++;
      end
      if (checked != int'(n)) begin
        $display("FAIL[%0d]: %0d of %0d checked", DATA_BYTES, checked, n);
        errors++;
      end
      $display("lbnic_crc32c DATA_BYTES %0d: %0d messages", DATA_BYTES, checked);
      done[c] = 1'b1;
    end
  end

  initial begin
    string dir;
    if (!$value$plusargs("vectors=%s", dir)) dir = "rtl/build/vectors";
    $readmemh({dir, "/crc32c.txt"}, words);
    n = words[0][31:0];
    if (n < 100) $fatal(1, "%s/crc32c.txt: %0d messages", dir, n);
    begin
      automatic int at = 1;
      for (int m = 0; m < int'(n); m++) at += 2 + (int'(words[at][31:0]) + FILE_BEAT - 1) / FILE_BEAT;
      if (at > MAX_WORDS) $fatal(1, "crc32c.txt is longer than MAX_WORDS");
    end
    repeat (4) @(negedge clk);
    rst = 1'b0;
    wait (&done);
    if (errors != 0) $fatal(1, "lbnic_crc32c: %0d errors", errors);
    $display("lbnic_crc32c: PASS");
    $finish;
  end
endmodule
