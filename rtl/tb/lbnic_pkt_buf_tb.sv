// Testbench of lbnic_pkt_buf: 3000 random frames (1-1300 bytes, a quarter
// of them 1-130, MAX_FRAME 1000, so some are not kept) into a buffer of 64
// beats and 8 frame slots, with random gaps, their late side data 7 clocks
// after each last beat (as lbnic_rx_sum gives it). Each kept frame is read
// 0-2 times (rd_sel: any stored frame, not only the head, and a read may
// wait behind the one in progress) under random back-pressure, some in
// back-to-back chains of 2-4 reads with m_tready held high, and released
// in order. Checks: every kept frame, in order, with its length, s_tuser
// and late data at the head (and never before its late data came); for a
// random at_sel each clock, at_valid/at_user/at_late against the stored
// frames whose late data is in (at_sel 0 as hd_*); rd_ready never for a
// frame whose late data is not in, and always for one when no read is
// busy; rd_busy while a read accepted has beats not taken; every read's
// bytes, tkeep and tlast, in the order the reads were accepted; no idle
// clock between the reads of a chain; `last_over` after each last beat;
// frames over MAX_FRAME never reach the head; the buffer ends empty.
// Prints PASS, or exits non-zero.
`timescale 1ns / 1ps
module lbnic_pkt_buf_tb;
  localparam int unsigned DB = 64;
  localparam int unsigned DEPTH = 64;
  localparam int unsigned NFR = 8;
  localparam int unsigned MAXF = 1000;
  localparam int unsigned LATE = 7;
  localparam int unsigned FRAMES = 3000;
  localparam int unsigned LONGEST = 1300;
  localparam int unsigned SW = $clog2(NFR);

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
  logic [SW-1:0]   at_sel = '0;
  logic            at_valid;
  logic [31:0]     at_user;
  logic [15:0]     at_late;
  logic [SW-1:0]   rd_sel = '0;
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
  int unsigned reads_left[FRAMES];  // reads still to make of each frame
  function automatic logic [15:0] late_of(input int unsigned i);
    late_of = 16'(i * 40503 + 7);
  endfunction

  typedef struct {
    int unsigned f;    // the frame read
    bit          b2b;  // must follow the read before it with no idle clock
  } rd_t;

  int cycle = 0;
  int errors = 0;
  int unsigned kept_q[$];       // kept frames in order, not yet released
  int unsigned late_due[$];     // cycle each frame's late data is due
  int unsigned late_idx[$];
  int unsigned late_seen = 0;   // frames whose late data was given
  int unsigned over_seen = 0, kept_n = 0, reads = 0;
  int unsigned sent = 0;        // frames whose last beat was taken
  int          over_check = -1; // a frame whose last_over is due now
  rd_t         exp_q[$];        // reads accepted, beats not all taken
  bit          hold = 1'b0;     // m_tready held high (a chain)
  int unsigned at_checks = 0, at_deep = 0, deep_reads = 0, queued_reads = 0;
  int unsigned b2b_n = 0, chains = 0, rel_with_rd = 0;

  // stored frames whose late data is in (the ones at_sel and rd_sel may
  // reach): kept_q's first ones, late data comes in order
  function automatic int unsigned n_in();
    int unsigned n = 0;
    while (n < kept_q.size() && kept_q[n] < late_seen) n++;
    return n;
  endfunction
  function automatic int pos_of(input int unsigned f);
    foreach (kept_q[i]) if (kept_q[i] == f) return i;
    return -1;
  endfunction
  function automatic bit in_chain_q(input int unsigned q[$], input int unsigned f);
    foreach (q[i]) if (q[i] == f) return 1'b1;
    return 1'b0;
  endfunction
  function automatic bit reading(input int unsigned f);
    foreach (exp_q[i]) if (exp_q[i].f == f) return 1'b1;
    return 1'b0;
  endfunction

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
    if (cycle > 3_000_000) $fatal(1, "FAIL: timeout (%0d frames sent, %0d released)", sent, kept_n);
  end

  // the writer
  initial begin
    logic [DB-1:0]   keep;
    logic [8*DB-1:0] data;
    for (int unsigned i = 0; i < FRAMES; i++) begin
      flen[i] = 1 + $urandom % ($urandom % 4 == 0 ? 130 : LONGEST);
      reads_left[i] = $urandom % 3;
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

  // the head and at_*: a random at_sel each clock, checked against the
  // stored frames 2 ns after the falling edge (the reader's release and
  // the clock's late data counted by then); rd_busy against the reads
  // accepted whose beats are not all taken
  initial begin
    int unsigned n, f;
    @(negedge rst);
    forever begin
      @(negedge clk);
      at_sel = SW'($urandom);
      #2;
      n = n_in();
      if (hd_valid !== (n != 0))
        $fatal(1, "hd_valid %b with %0d frames stored and late data in (cycle %0d)", hd_valid, n, cycle);
      if (n != 0) begin
        f = kept_q[0];
        if (hd_len != 16'(flen[f]) || hd_user != f || hd_late != late_of(f))
          $fatal(1, "head: len %0d user %0d late %h, want frame %0d: %0d bytes, late %h", hd_len,
                 hd_user, hd_late, f, flen[f], late_of(f));
      end
      if (at_valid !== (int'(at_sel) < int'(n)))
        $fatal(1, "at_sel %0d: at_valid %b with %0d frames stored and late data in (cycle %0d)", at_sel,
               at_valid, n, cycle);
      if (at_valid) begin
        f = kept_q[at_sel];
        if (at_user !== 32'(f) || at_late !== late_of(f))
          $fatal(1, "at_sel %0d: user %0d late %h, want frame %0d, late %h (cycle %0d)", at_sel, at_user,
                 at_late, f, late_of(f), cycle);
        at_checks++;
        if (at_sel != 0) at_deep++;
      end
      if (at_sel == 0 && (at_valid !== hd_valid || hd_valid && (at_user !== hd_user || at_late !== hd_late)))
        $fatal(1, "at_sel 0: valid %b user %0d late %h, head: valid %b user %0d late %h", at_valid, at_user,
               at_late, hd_valid, hd_user, hd_late);
      if (rd_busy !== (exp_q.size() != 0))
        $fatal(1, "rd_busy %b with %0d reads accepted and not all taken (cycle %0d)", rd_busy, exp_q.size(),
               cycle);
    end
  end

  // the reader: reads of any stored frame (rd_sel its place behind the
  // head), each kept frame reads_left times, a read asked for (held until
  // accepted) while others stream; now and then, with no read busy, a
  // chain of 2-4 reads asked for back to back with m_tready held high.
  // The head is released (once its reads are taken and none asked for)
  // in the same clock as a read asked for or not.
  initial begin
    bit acc = 1'b0, rel = 1'b0, tgt_in = 1'b0, rd_b2b = 1'b0, chain_wait = 1'b0, in_chain = 1'b0;
    int unsigned rd_tgt = 0, n, h, c;
    int unsigned chain[$];
    int p;
    int unsigned cand[$];
    rd_t e;
    @(negedge rst);
    forever begin
      @(negedge clk);
      // the last clock's release and read
      if (rel) begin
        void'(kept_q.pop_front());
        kept_n++;
      end
      if (acc) rd_valid = 1'b0;
      if (sent == FRAMES && kept_q.size() == 0 && exp_q.size() == 0 && !rd_valid) break;
      if (kept_q.size() > NFR) $fatal(1, "%0d frames kept with %0d slots", kept_q.size(), NFR);
      n = n_in();
      if (in_chain && chain.size() == 0 && exp_q.size() == 0) begin
        in_chain = 1'b0;
        hold = 1'b0;
      end
      if (!rd_valid) begin
        if (in_chain) begin
          // m_tready was held high from the clock before
          if (chain_wait) chain_wait = 1'b0;
          else if (chain.size() != 0) begin
            rd_tgt = chain[0];
            rd_b2b = exp_q.size() != 0;
            rd_valid = 1'b1;
          end
        end else if (exp_q.size() == 0 && n != 0 && $urandom % 3 == 0) begin
          c = 2 + $urandom % 3;
          for (int unsigned i = 0; i < c; i++) chain.push_back(kept_q[$urandom % n]);
          in_chain = 1'b1;
          chain_wait = 1'b1;
          hold = 1'b1;
          chains++;
        end else if ($urandom % 2 == 0) begin
          // a frame with reads left (late data in or not), or now and
          // then any stored frame once more
          cand.delete();
          foreach (kept_q[i]) if (reads_left[kept_q[i]] != 0) cand.push_back(kept_q[i]);
          if (cand.size() == 0 && kept_q.size() != 0 && $urandom % 8 == 0)
            cand.push_back(kept_q[$urandom % kept_q.size()]);
          if (cand.size() != 0) begin
            rd_tgt = cand[$urandom % cand.size()];
            rd_b2b = 1'b0;
            rd_valid = 1'b1;
            if (reads_left[rd_tgt] != 0) reads_left[rd_tgt]--;
          end
        end
      end
      // the head's release: its reads made and taken, none asked for
      release_head = 1'b0;
      if (n != 0) begin
        h = kept_q[0];
        if (reads_left[h] == 0 && !reading(h) && !(rd_valid && rd_tgt == h) && !in_chain_q(chain, h) &&
            $urandom % 4 != 0) begin
          release_head = 1'b1;
          if (rd_valid) rel_with_rd++;
        end
      end
      if (rd_valid) begin
        p = pos_of(rd_tgt);
        if (p < 0) $fatal(1, "tb: read of frame %0d not stored", rd_tgt);
        rd_sel = SW'(p);
        tgt_in = p < int'(n);
      end
      @(posedge clk);
      rel = release_head;
      if (release_head && !hd_valid) $fatal(1, "tb: release with no head");
      acc = rd_valid && rd_ready;
      if (rd_valid) begin
        if (rd_ready && !tgt_in)
          $fatal(1, "rd_ready for rd_sel %0d (frame %0d), its late data not in (cycle %0d)", rd_sel, rd_tgt,
                 cycle);
        if (!rd_busy && tgt_in && !rd_ready)
          $fatal(1, "rd_ready low for rd_sel %0d (frame %0d) with no read busy (cycle %0d)", rd_sel, rd_tgt,
                 cycle);
      end
      if (acc) begin
        e.f = rd_tgt;
        e.b2b = rd_b2b;
        exp_q.push_back(e);
        if (rd_sel != 0) deep_reads++;
        if (rd_busy) queued_reads++;
        if (in_chain) void'(chain.pop_front());
      end
    end
    repeat (LATE + 4) @(negedge clk);
    if (!empty || hd_valid || rd_busy || m_tvalid)
      $fatal(1, "not empty at the end (empty %b, hd_valid %b, rd_busy %b, m_tvalid %b)", empty, hd_valid,
             rd_busy, m_tvalid);
    if (errors != 0) $fatal(1, "FAIL: %0d errors", errors);
    if (over_seen < 100 || reads < 2000 || deep_reads < 500 || queued_reads < 500 || b2b_n < 300 ||
        at_deep < 10000 || rel_with_rd < 100)
      $fatal(1, "too few cases: %0d not kept, %0d reads, %0d behind the head, %0d while busy, %0d back to back, %0d at_sel > 0, %0d releases with a read",
             over_seen, reads, deep_reads, queued_reads, b2b_n, at_deep, rel_with_rd);
    $display("lbnic_pkt_buf_tb: PASS (%0d frames, %0d not kept, %0d reads: %0d behind the head, %0d while one was busy, %0d back to back in %0d chains with no gap; %0d at_* checks, %0d at_sel > 0; %0d releases beside a read)",
             sent, over_seen, reads, deep_reads, queued_reads, b2b_n, chains, at_checks, at_deep, rel_with_rd);
    $finish;
  end

  // the consumer: m_tready random (in stretches of 64 clocks: 2/3, 1/2 or
  // always high), held high through a chain; every beat checked against
  // the oldest read accepted
  initial begin
    int unsigned beat = 0, ccyc = 0, last_end = 0, mode = 0, f;
    @(negedge rst);
    forever begin
      @(negedge clk);
      if (ccyc % 64 == 0) mode = $urandom % 3;
      m_tready = hold || (mode == 0 ? $urandom % 3 != 0 : mode == 1 ? $urandom % 2 == 0 : 1'b1);
      @(posedge clk);
      ccyc++;
      if (m_tvalid && m_tready) begin
        if (exp_q.size() == 0) $fatal(1, "a beat on m_* with no read accepted (cycle %0d)", cycle);
        f = exp_q[0].f;
        if (beat == 0 && exp_q[0].b2b) begin
          if (ccyc - last_end - 1 != 0)
            $fatal(1, "frame %0d read back to back: %0d idle clocks after the read before (cycle %0d)", f,
                   ccyc - last_end - 1, cycle);
          b2b_n++;
        end
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
        if (errors != 0) $fatal(1, "FAIL: %0d errors (cycle %0d, read %0d)", errors, cycle, reads);
        beat++;
        if (beat * DB >= flen[f]) begin
          void'(exp_q.pop_front());
          last_end = ccyc;
          beat = 0;
          reads++;
        end
      end
    end
  end
endmodule
