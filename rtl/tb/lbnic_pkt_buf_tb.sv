// Testbench of lbnic_pkt_buf: 3000 random frames (1-1300 bytes, MAX_FRAME
// 1000, so some are not kept) into a buffer of 64 beats and 8 frame slots,
// with random gaps, their late side data 7 clocks after each last beat (as
// lbnic_rx_sum gives it), read back from the head 0-2 times each under
// random back-pressure, then released. Checks: every kept frame, in order,
// with its length, s_tuser and late data at the head (and never before its
// late data came); its bytes, tkeep and tlast on every read; `last_over`
// after each last beat; frames over MAX_FRAME never reach the head; the
// buffer ends empty. Prints PASS, or exits non-zero.
`timescale 1ns / 1ps
module lbnic_pkt_buf_tb;
  localparam int unsigned DB = 64;
  localparam int unsigned DEPTH = 64;
  localparam int unsigned NFR = 8;
  localparam int unsigned MAXF = 1000;
  localparam int unsigned LATE = 7;
  localparam int unsigned FRAMES = 3000;
  localparam int unsigned LONGEST = 1300;

  logic clk = 1'b0;
  logic rst = 1'b1;
  always #5 clk = ~clk;

  logic            s_tvalid = 1'b0, s_tready, s_tlast = 1'b0;
  logic [8*DB-1:0] s_tdata = '0;
  logic [DB-1:0]   s_tkeep = '0;
  logic [31:0]     s_tuser = '0;
  logic            last_over;
  logic            late_valid = 1'b0;
  logic [15:0]     late_user = '0;
  logic            hd_valid;
  logic [15:0]     hd_len;
  logic [31:0]     hd_user;
  logic [15:0]     hd_late;
  logic            rd_valid = 1'b0, rd_ready, release_head = 1'b0;
  logic            m_tvalid, m_tready = 1'b0, m_tlast;
  logic [8*DB-1:0] m_tdata;
  logic [DB-1:0]   m_tkeep;
  logic            empty, rd_busy;

  lbnic_pkt_buf #(
      .DATA_BYTES(DB), .DEPTH(DEPTH), .NFR(NFR), .MAX_FRAME(MAXF), .USER_BITS(32), .LATE_BITS(16)
  ) dut (.*);

  // every frame's bytes, by index
  logic [7:0] fb[FRAMES][LONGEST];
  int unsigned flen[FRAMES];
  function automatic logic [15:0] late_of(input int unsigned i);
    late_of = 16'(i * 40503 + 7);
  endfunction

  int cycle = 0;
  int errors = 0;
  int unsigned kept_q[$];       // kept frames in order, not yet released
  int unsigned late_due[$];     // cycle each frame's late data is due
  int unsigned late_idx[$];
  int unsigned late_seen = 0;   // frames whose late data was given
  int unsigned over_seen = 0, kept_n = 0, reads = 0;
  int unsigned sent = 0;        // frames whose last beat was taken
  int          over_check = -1; // a frame whose last_over is due now

  // late side data, LATE clocks after a last beat (driven on the falling
  // edge, as every input); last_over checked the clock after it
  always @(negedge clk) begin
    late_valid <= late_due.size() != 0 && late_due[0] == cycle;
    late_user <= late_due.size() != 0 ? late_of(late_idx[0]) : 16'hxxxx;
  end
  always @(posedge clk) begin
    if (over_check >= 0) begin
      if (last_over !== (flen[over_check] > MAXF)) begin
        $display("FAIL: frame %0d (%0d bytes): last_over %b", over_check, flen[over_check], last_over);
        errors++;
      end
      over_check <= -1;
    end
    if (!rst && late_valid) begin
      void'(late_due.pop_front());
      void'(late_idx.pop_front());
      late_seen++;
    end
    if (!rst && s_tvalid && s_tready && s_tlast) begin
      late_due.push_back(cycle + LATE);
      late_idx.push_back(s_tuser);
      over_check <= int'(s_tuser);
      if (flen[s_tuser] <= MAXF) kept_q.push_back(s_tuser);
      else over_seen++;
      sent++;
    end
    cycle++;
  end

  // the writer
  initial begin
    logic [DB-1:0]   keep;
    logic [8*DB-1:0] data;
    for (int unsigned i = 0; i < FRAMES; i++) begin
      flen[i] = 1 + $urandom % LONGEST;
      for (int unsigned k = 0; k < LONGEST; k++) fb[i][k] = 8'($urandom);
    end
    repeat (3) @(negedge clk);
    rst = 1'b0;
    for (int unsigned i = 0; i < FRAMES; i++) begin
      for (int unsigned off = 0; off < flen[i]; off += DB) begin
        s_tvalid = 1'b0;
        while ($urandom % 5 == 0) @(negedge clk);
        s_tvalid = 1'b1;
        s_tuser = i;
        s_tlast = off + DB >= flen[i];
        // whole vectors (Verilator 5.006 does not always wake the logic
        // behind an input written a bit at a time from a timed process)
        for (int unsigned k = 0; k < DB; k++) begin
          keep[k] = off + k < flen[i];
          data[8*k+:8] = off + k < flen[i] ? fb[i][off+k] : 8'($urandom);
        end
        s_tkeep = keep;
        s_tdata = data;
        @(posedge clk);
        while (!s_tready) @(posedge clk);
        @(negedge clk);
      end
      s_tvalid = 1'b0;
      s_tlast = 1'b0;
    end
  end

  // the reader: the head frame, read 0-2 times, then released
  initial begin
    int unsigned f, n, got, beat;
    @(negedge rst);
    while (kept_n < FRAMES) begin
      @(negedge clk);
      if (sent == FRAMES && kept_q.size() == 0) break;
      if (!hd_valid) continue;
      if (kept_q.size() == 0) $fatal(1, "a head frame with none kept");
      f = kept_q[0];
      if (hd_len != 16'(flen[f]) || hd_user != f || hd_late != late_of(f))
        $fatal(1, "head: len %0d user %0d late %h, want frame %0d: %0d bytes, late %h", hd_len,
               hd_user, hd_late, f, flen[f], late_of(f));
      if (late_seen <= f) $fatal(1, "frame %0d at the head before its late data", f);
      n = $urandom % 3;
      for (int unsigned r = 0; r < n; r++) begin
        rd_valid = 1'b1;
        @(posedge clk);
        while (!rd_ready) @(posedge clk);
        @(negedge clk);
        rd_valid = 1'b0;
        got = 0;
        beat = 0;
        while (got < flen[f]) begin
          m_tready = $urandom % 3 != 0;
          @(posedge clk);
          if (m_tvalid && m_tready) begin
            for (int unsigned k = 0; k < DB; k++) begin
              if (m_tkeep[k] !== (beat * DB + k < flen[f])) begin
                $display("FAIL: frame %0d beat %0d: tkeep %h", f, beat, m_tkeep);
                errors++;
                break;
              end
              if (m_tkeep[k] && m_tdata[8*k+:8] !== fb[f][beat*DB+k]) begin
                $display("FAIL: frame %0d byte %0d: %h, want %h", f, beat * DB + k, m_tdata[8*k+:8],
                         fb[f][beat*DB+k]);
                errors++;
                break;
              end
            end
            if (m_tlast !== ((beat + 1) * DB >= flen[f])) begin
              $display("FAIL: frame %0d beat %0d: tlast %b", f, beat, m_tlast);
              errors++;
            end
            got += DB;
            beat++;
          end
          @(negedge clk);
        end
        m_tready = 1'b0;
        if (errors > 10) $fatal(1, "FAIL: %0d errors", errors);
        reads++;
      end
      release_head = 1'b1;
      @(negedge clk);
      release_head = 1'b0;
      void'(kept_q.pop_front());
      kept_n++;
    end
    repeat (LATE + 4) @(negedge clk);
    if (!empty || hd_valid) $fatal(1, "not empty at the end (empty %b, hd_valid %b)", empty, hd_valid);
    if (errors != 0) $fatal(1, "FAIL: %0d errors", errors);
    if (over_seen < 100 || reads < 1000) $fatal(1, "too few cases: %0d not kept, %0d reads", over_seen, reads);
    $display("lbnic_pkt_buf_tb: PASS (%0d frames, %0d not kept, %0d reads)", sent, over_seen, reads);
    $finish;
  end
endmodule
